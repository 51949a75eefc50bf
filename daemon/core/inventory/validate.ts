// `rackhand validate`: the inventory and its templates, every template rendered once with sample
// values under strict undefined, so a typo in a variable fails here and not mid-install.
import { loadInventory, type InventoryError, type LoadedInventory, type LoadOptions } from './load.js';
import { TEMPLATE_FIELDS } from './checks.js';
import { inventoryWarnings } from './warnings.js';
import { SAMPLE_FACTS, buildContext, render, renderString, templateEnv, TemplateError, type TemplateMachine } from '../templates.js';

/** On success, `warnings`: settings that are valid but risky (see warnings.ts), placed in the file. */
export type ValidateResult = { ok: true; value: LoadedInventory; warnings: InventoryError[] } | { ok: false; errors: InventoryError[] };

export function validateInventory(file: string, opts: LoadOptions = {}): ValidateResult {
  const loaded = loadInventory(file, opts);
  if (!loaded.ok) return loaded;
  const errors = renderAllTemplates(loaded.value);
  if (errors.length) return { ok: false, errors };
  const warnings = inventoryWarnings(loaded.value.inventory).map((f) => loaded.value.place(f.path, f.message));
  return { ...loaded, warnings };
}

export function renderAllTemplates(loaded: LoadedInventory): InventoryError[] {
  const { inventory } = loaded;
  const env = templateEnv(loaded.templatesDir);
  const errors: InventoryError[] = [];
  for (const [profileName, profile] of Object.entries(inventory.profiles)) {
    const entry = inventory.machines.find((m) => m.profile === profileName);
    const machine: TemplateMachine = entry
      ? { name: entry.name, mac: entry.mac, ip: entry.ip ?? null, hostname: entry.hostname ?? entry.name, tags: entry.tags, owner: null, facts: SAMPLE_FACTS }
      : { name: 'sample-01', mac: '52:54:00:00:00:01', ip: inventory.site.address, hostname: 'sample-01', tags: [], owner: null, facts: SAMPLE_FACTS };
    const ctx = buildContext({ machine, profileName, profile, site: inventory.site, token: 'SAMPLE-TOKEN', instanceId: 'sample-instance' });
    const attempt = (path: (string | number)[], fn: () => string) => {
      try {
        fn();
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        errors.push(loaded.place(path, `renders with an error: ${err.message}`));
      }
    };
    for (const field of TEMPLATE_FIELDS) {
      const tpl = (profile as Record<string, unknown>)[field];
      if (typeof tpl === 'string') attempt(['profiles', profileName, field], () => render(env, tpl, ctx));
    }
    if (profile.kind === 'installer') attempt(['profiles', profileName, 'cmdline'], () => renderString(env, profile.cmdline, ctx));
    if (profile.kind === 'image' && profile.kernel_args) attempt(['profiles', profileName, 'kernel_args'], () => renderString(env, profile.kernel_args!, ctx));
  }
  return errors;
}
