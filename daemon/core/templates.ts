// Jinja-style templates (nunjucks) under strict undefined: a variable the context lacks is an
// error when `rackhand validate` renders the template with sample values, not a broken install.
import nunjucks from 'nunjucks';
import { baseUrl, bootPaths } from './urls.js';
import type { Inventory, Profile } from './inventory/schema.js';
import { TEMPLATE_FILTERS } from './template-filters.js';

export interface TemplateMachine {
  name: string;
  mac: string;
  ip: string | null;
  hostname: string;
  tags: string[];
  owner: string | null;
  facts: Record<string, unknown>;
}

/** Every variable a template may use. Documented in the README's template section. */
export interface TemplateContext {
  machine: TemplateMachine;
  profile: Profile & { name: string };
  /** The site section but its store URL. */
  site: Omit<Inventory['site'], 'store'>;
  base_url: string;
  metadata_url: string;
  answer_url: string;
  phone_home_url: string;
  /** Where an installer's first command reports that it started (POST; GET works too). */
  installer_started_url: string;
  token: string;
  instance_id: string;
}

/**
 * Output is not escaped by default (every format differs): a template passes each value a machine
 * reported or the inventory holds through the filter of its format (template-filters.ts).
 */
export function templateEnv(templatesDir: string): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(templatesDir, { noCache: true }), {
    throwOnUndefined: true,
    autoescape: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  for (const [name, filter] of Object.entries(TEMPLATE_FILTERS)) env.addFilter(name, filter);
  return env;
}

export function buildContext(args: {
  machine: TemplateMachine; profileName: string; profile: Profile; site: Inventory['site']; token: string; instanceId: string;
}): TemplateContext {
  const base = baseUrl(args.site);
  // The store's URL (it may hold a database password) is the daemon's, never a machine's to read.
  const { store: _store, ...site } = args.site;
  return {
    machine: args.machine,
    profile: { ...args.profile, name: args.profileName },
    site,
    base_url: base,
    metadata_url: base + bootPaths.nocloud(args.token),
    answer_url: base + bootPaths.answer(args.token),
    phone_home_url: base + bootPaths.phoneHome(args.token),
    installer_started_url: base + bootPaths.installerStarted(args.token),
    token: args.token,
    instance_id: args.instanceId,
  };
}

/** Facts as the agent reports them after inspection; used to render templates at validate time. */
export const SAMPLE_FACTS: Record<string, unknown> = {
  cpus: 4,
  cpu_model: 'Sample CPU',
  memory_mib: 8192,
  arch: 'x86_64',
  disks: [{ name: 'vda', size_bytes: 10737418240, serial: 'SAMPLE0001' }],
  nics: [{ name: 'eth0', mac: '52:54:00:00:00:01', link: true }],
  dmi: { vendor: 'Sample', product: 'Sample Server', serial: 'SAMPLE-SERIAL' },
};

export class TemplateError extends Error {
  readonly code = 'TEMPLATE_ERROR';
}

export function render(env: nunjucks.Environment, file: string, ctx: TemplateContext): string {
  try {
    return env.render(file, ctx as unknown as object);
  } catch (err) {
    throw new TemplateError(cleanMessage(err));
  }
}

export function renderString(env: nunjucks.Environment, text: string, ctx: TemplateContext): string {
  try {
    return env.renderString(text, ctx as unknown as object);
  } catch (err) {
    throw new TemplateError(cleanMessage(err));
  }
}

// nunjucks prefixes "Template render error: (file) [Line 3, Column 5]\n  Error: ..." — keep it on one line.
function cleanMessage(err: unknown): string {
  return String((err as Error).message ?? err).replace(/^Template render error: /, '').replace(/\s*\n\s*/g, ' ').trim();
}
