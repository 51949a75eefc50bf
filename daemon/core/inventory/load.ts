// Reading inventory.yaml: YAML syntax, the schema, and the cross-field checks, with every error
// placed at its FILE:LINE:COL and all of them reported together.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { inventorySchema, type Inventory } from './schema.js';
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
  inventory: Inventory;
  templatesDir: string;
  imagesDir: string;
  /** Places a finding about `path` at its position in the file. */
  place(path: PathItem[], message: string): InventoryError;
}

export type LoadResult = { ok: true; value: LoadedInventory } | { ok: false; errors: InventoryError[] };

export function loadInventory(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [{ file, line: 1, col: 1, path: '(file)', message: (err as Error).message }] };
  }
  return parseInventory(text, file, dirname(resolve(file)));
}

export function parseInventory(text: string, file: string, baseDir: string): LoadResult {
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
  errors.sort((a, b) => a.line - b.line || a.col - b.col);
  if (errors.length || !parsed.success) return { ok: false, errors };

  const inventory = parsed.data;
  return {
    ok: true,
    value: {
      file, baseDir, inventory,
      templatesDir: resolve(baseDir, inventory.site.templates_dir),
      imagesDir: resolve(baseDir, inventory.site.images_dir),
      place: (path, message) => ({ file, ...locate(doc, counter, path), path: formatPath(path), message }),
    },
  };
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
export function machineSpecs(inv: Inventory): MachineSpec[] {
  return inv.machines.map((m) => ({
    name: m.name,
    mac: m.mac,
    ip: m.ip ?? null,
    hostname: m.hostname ?? m.name,
    profile: m.profile ?? null,
    tags: m.tags,
    power: m.power as PowerSpec,
  }));
}
