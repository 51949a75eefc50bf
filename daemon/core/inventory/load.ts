// Reading inventory.yaml: YAML syntax, the schema, and the cross-field checks, with every error
// placed at its FILE:LINE:COL and all of them reported together.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { inventorySchema, type Inventory, type ParsedInventory } from './schema.js';
import { machineRack, servedInventory } from './racks.js';
import { crossChecks } from './checks.js';
import { formatPath, locate, type PathItem } from './locate.js';
import type { MachineSpec, PowerSpec } from '../store/types.js';

export interface InventoryError {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

export function formatError(e: InventoryError): string {
  return `${e.file}:${e.line}:${e.col} ${e.path}: ${e.message}`;
}

export function formatWarning(e: InventoryError): string {
  return `${e.file}:${e.line}:${e.col} ${e.path}: warning: ${e.message}`;
}

export interface LoadedInventory {
  file: string;
  /** Directory that relative paths in the file (templates, images) resolve against. */
  baseDir: string;
  /** As this daemon serves it: the site with its rack's interface, address and DHCP. */
  inventory: Inventory;
  /** The rack this daemon serves; null without racks. */
  rack: string | null;
  templatesDir: string;
  imagesDir: string;
  /** Places a finding about `path` at its position in the file. */
  place(path: PathItem[], message: string): InventoryError;
}

export type LoadResult = { ok: true; value: LoadedInventory } | { ok: false; errors: InventoryError[] };

export interface LoadOptions {
  /** The rack this daemon serves (`serve --rack`): required when the inventory names racks. */
  rack?: string;
  /** Without a rack on a racked inventory, check it all and view it as its first rack (validate). */
  anyRack?: boolean;
}

export function loadInventory(file: string, opts: LoadOptions = {}): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [{ file, line: 1, col: 1, path: '(file)', message: (err as Error).message }] };
  }
  return parseInventory(text, file, dirname(resolve(file)), opts);
}

export function parseInventory(text: string, file: string, baseDir: string, opts: LoadOptions = {}): LoadResult {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const errors: InventoryError[] = [];
  const at = (path: PathItem[], message: string, opts: { atKey?: string; preferKey?: boolean } = {}) => {
    const pos = locate(doc, counter, path, opts);
    errors.push({ file, ...pos, path: formatPath(opts.atKey ? [...path, opts.atKey] : path), message });
  };

  if (doc.errors.length) {
    for (const e of doc.errors) {
      const pos = counter.linePos(e.pos[0]);
      errors.push({ file, line: pos.line, col: pos.col, path: '(yaml)', message: e.message.split('\n')[0]! });
    }
    return { ok: false, errors };
  }

  const raw: unknown = doc.toJS();
  const parsed = inventorySchema.safeParse(raw ?? {}, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) reportIssue(issue, at);
  }
  for (const f of crossChecks(raw, baseDir)) at(f.path, f.message, { preferKey: f.atKey });
  if (parsed.success) rackChoice(parsed.data, opts, at);
  errors.sort((a, b) => a.line - b.line || a.col - b.col);
  if (errors.length || !parsed.success) return { ok: false, errors };

  const racked = Object.keys(parsed.data.racks).length > 0;
  const inventory = servedInventory(parsed.data, opts.rack);
  return {
    ok: true,
    value: {
      file, baseDir, inventory, rack: racked ? opts.rack ?? null : null,
      templatesDir: resolve(baseDir, inventory.site.templates_dir),
      imagesDir: resolve(baseDir, inventory.site.images_dir),
      place: (path, message) => ({ file, ...locate(doc, counter, path), path: formatPath(path), message }),
    },
  };
}

/** `--rack` names a rack of the file; a racked file needs one (unless any rack will do). */
function rackChoice(inv: ParsedInventory, opts: LoadOptions, at: At): void {
  const names = Object.keys(inv.racks);
  if (opts.rack !== undefined && !names.includes(opts.rack)) {
    at(names.length ? ['racks'] : ['site'], names.length
      ? `no rack ${opts.rack} here (racks: ${names.join(', ')})`
      : `--rack ${opts.rack}: this inventory names no racks (add a racks section, or start without --rack)`);
  }
  if (opts.rack === undefined && names.length && !opts.anyRack) {
    at(['racks'], `this inventory names racks (${names.join(', ')}): start each daemon with --rack NAME`);
  }
}

type At = (path: PathItem[], message: string, opts?: { atKey?: string; preferKey?: boolean }) => void;

function reportIssue(issue: z.core.$ZodIssue, at: At): void {
  const path = issue.path.filter((p): p is PathItem => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    for (const key of issue.keys) at(path, `unknown field ${JSON.stringify(key)}`, { atKey: key });
    return;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    at(path, `is required (${issue.expected})`);
    return;
  }
  if (issue.code === 'invalid_key') {
    for (const sub of issue.issues) at(path, `key: ${sub.message}`, { preferKey: true });
    return;
  }
  at(path, issue.message);
}

/** The store's view of each machine in the inventory. */
export function machineSpecs(inv: Pick<ParsedInventory, 'machines' | 'racks'>): MachineSpec[] {
  return inv.machines.map((m) => ({
    name: m.name,
    rack: machineRack(inv, m),
    mac: m.mac,
    ip: m.ip ?? null,
    hostname: m.hostname ?? m.name,
    profile: m.profile ?? null,
    tags: m.tags,
    power: m.power as PowerSpec,
  }));
}
