// The layout rules of daemon/, checked by `make lint` after tsc (issue 13):
//   cycle        no import cycle among daemon/**/*.ts, type-only imports and import() included;
//   server       the server folders (daemon/http, dhcp, tftp) do not import one another;
//   wiring       nothing imports the wiring (daemon/serve.ts, daemon/orchestrate.ts) but the CLI
//                entry point daemon/cli/main.ts, which starts it, and the wiring files themselves;
//   too long     no file under daemon/ over 400 lines;
//   bench        bench/ imports from tests/ only the shared helpers in tests/lib.
// A refactor in progress leaves violations: tools/layout-baseline.txt lists them, one per line,
// exactly as printed here. The check fails on a violation not in the baseline and on a baseline
// line that no longer occurs, so the baseline only shrinks and always tells the truth.
//
//   node --import tsx tools/check-layout.ts           check against the baseline
//   node --import tsx tools/check-layout.ts --list    print every violation (baseline format)
//   node --import tsx tools/check-layout.ts --prune   drop the baseline lines that no longer occur
//
// A violation's first line is its baseline line: stable while its files are edited (no line
// numbers or counts). Where it happens (file:line of each import, the line count) follows,
// indented.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCycles, importGraph, type ImportEdge, type ImportGraph } from './import-graph.js';

export const MAX_LINES = 400;
export const SERVER_FOLDERS = ['daemon/http', 'daemon/dhcp', 'daemon/tftp'];
export const WIRING = ['daemon/serve.ts', 'daemon/orchestrate.ts'];
export const WIRING_IMPORTERS = ['daemon/cli/main.ts', ...WIRING];

export interface Violation {
  /** The baseline line. */
  key: string;
  /** Where: indented lines printed under the key. */
  details: string[];
}

const edgeText = (e: ImportEdge): string => `${e.from}:${e.line} imports ${e.to}${e.typeOnly ? ' (type only)' : ''}`;
const serverFolder = (file: string): string | undefined => SERVER_FOLDERS.find((f) => file.startsWith(`${f}/`));
const short = (folder: string): string => folder.slice(folder.lastIndexOf('/') + 1);
const KINDS = ['cycle', 'server', 'wiring', 'too long', 'bench'];
const inDaemon = (file: string): boolean => file.startsWith('daemon/');
const kindOf = (v: Violation): number => KINDS.indexOf(v.key.slice(0, v.key.indexOf(':')));

/** Every violation of the rules in `graph`, in a stable order. */
export function layoutViolations(graph: ImportGraph): Violation[] {
  const out: Violation[] = [];
  const byPair = new Map<string, ImportEdge[]>();
  for (const e of graph.edges) {
    if (!inDaemon(e.from) && !e.from.startsWith('bench/')) continue;
    const k = `${e.from}\0${e.to}`;
    byPair.set(k, [...(byPair.get(k) ?? []), e]);
  }
  for (const cycle of findCycles(graph.edges.filter((e) => inDaemon(e.from) && inDaemon(e.to)))) {
    const ring = [...cycle, cycle[0]!];
    const details = cycle.map((from, i) => byPair.get(`${from}\0${ring[i + 1]}`)!.map(edgeText).join('; '));
    out.push({ key: `cycle: ${ring.join(' → ')}`, details });
  }
  for (const [pair, edges] of byPair) {
    const [from, to] = pair.split('\0') as [string, string];
    const a = serverFolder(from);
    const b = serverFolder(to);
    if (a && b && a !== b) out.push({ key: `server: ${from} imports ${to} (${short(a)} → ${short(b)})`, details: edges.map(edgeText) });
    if (inDaemon(from) && WIRING.includes(to) && !WIRING_IMPORTERS.includes(from)) {
      out.push({ key: `wiring: ${from} imports ${to}`, details: edges.map(edgeText) });
    }
    if (from.startsWith('bench/') && to.startsWith('tests/') && !to.startsWith('tests/lib/')) {
      out.push({ key: `bench: ${from} imports ${to} (not from tests/lib)`, details: edges.map(edgeText) });
    }
  }
  for (const [file, count] of graph.lines) {
    if (inDaemon(file) && count > MAX_LINES) out.push({ key: `too long: ${file}`, details: [`${file}: ${count} lines (at most ${MAX_LINES})`] });
  }
  return out.sort((x, y) => kindOf(x) - kindOf(y) || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

/** The baseline's lines: blank lines and # comments skipped. */
export function readBaseline(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

export interface Verdict { added: Violation[]; gone: string[]; known: Violation[] }

export function compareWithBaseline(violations: Violation[], baseline: string[]): Verdict {
  const now = new Set(violations.map((v) => v.key));
  const was = new Set(baseline);
  return {
    added: violations.filter((v) => !was.has(v.key)),
    gone: baseline.filter((l) => !now.has(l)),
    known: violations.filter((v) => was.has(v.key)),
  };
}

function print(v: Violation): void {
  console.log(`  ${v.key}`);
  for (const d of v.details) console.log(`      ${d}`);
}

function main(): number {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const baselineFile = join(root, 'tools/layout-baseline.txt');
  const baselineName = relative(root, baselineFile);
  const violations = layoutViolations(importGraph(root, ['daemon', 'bench']));
  const args = process.argv.slice(2);
  if (args.includes('--list')) {
    for (const v of violations) console.log(v.key);
    return 0;
  }
  const baseline = readBaseline(baselineFile);
  const verdict = compareWithBaseline(violations, baseline);
  if (args.includes('--prune')) {
    const gone = new Set(verdict.gone);
    const text = readFileSync(baselineFile, 'utf8').split('\n').filter((l) => !gone.has(l.trim())).join('\n');
    writeFileSync(baselineFile, text);
    console.log(`layout: ${verdict.gone.length} line(s) dropped from ${baselineName}`);
    return 0;
  }
  if (verdict.added.length) {
    console.log(`layout: ${verdict.added.length} violation(s) not in ${baselineName}:`);
    verdict.added.forEach(print);
  }
  if (verdict.gone.length) {
    console.log(`layout: ${verdict.gone.length} line(s) of ${baselineName} no longer occur; delete them ` +
      `(node --import tsx tools/check-layout.ts --prune):`);
    for (const l of verdict.gone) console.log(`  ${l}`);
  }
  const ok = !verdict.added.length && !verdict.gone.length;
  console.log(`layout: ${ok ? 'ok' : 'FAILED'}, ${verdict.known.length} known violation(s) left in ${baselineName}`);
  return ok ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();
