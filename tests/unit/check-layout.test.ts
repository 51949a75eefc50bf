// tools/check-layout.ts on the tiny tree in tests/fixtures/layout (its README says what is in it):
// every cycle found once, type-only and import() included, comments and strings ignored; the
// server-folder, wiring, length and bench rules; the baseline comparison both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCycles, importGraph } from '../../tools/import-graph.js';
import { compareWithBaseline, layoutViolations } from '../../tools/check-layout.js';
import { tempDir } from '../lib/tmp.js';

const ROOT = fileURLToPath(new URL('../fixtures/layout/', import.meta.url));
const graph = importGraph(ROOT, ['daemon', 'bench']);

test('the import graph: every relative import resolved to its .ts file, with its line and kind', () => {
  const edges = graph.edges.map((e) => `${e.from}:${e.line} → ${e.to}${e.typeOnly ? ' (type)' : ''}`);
  assert.deepEqual(edges, [
    'daemon/core/a.ts:1 → daemon/core/b.ts',
    'daemon/core/b.ts:1 → daemon/core/a.ts (type)',
    'daemon/core/c.ts:1 → daemon/core/d.ts',
    'daemon/core/d.ts:1 → daemon/core/c.ts',
    'daemon/core/d.ts:3 → daemon/core/e.ts',
    'daemon/core/e.ts:1 → daemon/core/c.ts (type)',
    'daemon/core/leaf.ts:2 → daemon/core/a.ts',
    'daemon/dhcp/routes.ts:1 → daemon/http/page.ts',
    'daemon/http/page.ts:1 → daemon/serve.ts (type)',
    'bench/run.ts:1 → tests/lib/shared.ts',
    'bench/run.ts:2 → tests/net/harness.ts',
    'bench/run.ts:3 → daemon/serve.ts (type)',
  ]);
});

test('cycles: each elementary cycle once, from its smallest file; none through a file outside one', () => {
  assert.deepEqual(findCycles(graph.edges), [
    ['daemon/core/a.ts', 'daemon/core/b.ts'],
    ['daemon/core/c.ts', 'daemon/core/d.ts'],
    ['daemon/core/c.ts', 'daemon/core/d.ts', 'daemon/core/e.ts'],
  ]);
  assert.deepEqual(findCycles([{ from: 'x', to: 'x' }]), [['x']], 'a file importing itself');
  assert.deepEqual(findCycles([{ from: 'x', to: 'y' }, { from: 'y', to: 'z' }]), []);
  // The same cycle whatever the order the edges come in.
  const ring = [{ from: 'q', to: 'p' }, { from: 'r', to: 'q' }, { from: 'p', to: 'r' }];
  assert.deepEqual(findCycles(ring), [['p', 'r', 'q']]);
  assert.deepEqual(findCycles([...ring].reverse()), [['p', 'r', 'q']]);
});

test('violations print as baseline lines, with where they happen underneath', () => {
  const v = layoutViolations(graph);
  assert.deepEqual(v.map((x) => x.key), [
    'cycle: daemon/core/a.ts → daemon/core/b.ts → daemon/core/a.ts',
    'cycle: daemon/core/c.ts → daemon/core/d.ts → daemon/core/c.ts',
    'cycle: daemon/core/c.ts → daemon/core/d.ts → daemon/core/e.ts → daemon/core/c.ts',
    'server: daemon/dhcp/routes.ts imports daemon/http/page.ts (dhcp → http)',
    'wiring: daemon/http/page.ts imports daemon/serve.ts',
    'bench: bench/run.ts imports tests/net/harness.ts (not from tests/lib)',
  ]);
  assert.deepEqual(v[0]!.details, ['daemon/core/a.ts:1 imports daemon/core/b.ts', 'daemon/core/b.ts:1 imports daemon/core/a.ts (type only)']);
  assert.deepEqual(v[4]!.details, ['daemon/http/page.ts:1 imports daemon/serve.ts (type only)']);
});

test('the baseline: a violation not in it fails, and so does a line of it that no longer occurs', () => {
  const v = layoutViolations(graph);
  const keys = v.map((x) => x.key);
  const same = compareWithBaseline(v, keys);
  assert.deepEqual([same.added.length, same.gone.length, same.known.length], [0, 0, 6]);
  const verdict = compareWithBaseline(v, [...keys.slice(1), 'too long: daemon/core/gone.ts']);
  assert.deepEqual(verdict.added.map((x) => x.key), [keys[0]]);
  assert.deepEqual(verdict.gone, ['too long: daemon/core/gone.ts']);
});

test('a file over 400 lines is too long; 400 lines is not', () => {
  const root = tempDir('layout');
  mkdirSync(join(root, 'daemon'));
  writeFileSync(join(root, 'daemon/ok.ts'), 'export {};\n'.repeat(400));
  writeFileSync(join(root, 'daemon/big.ts'), 'export {};\n'.repeat(401));
  const v = layoutViolations(importGraph(root, ['daemon']));
  assert.deepEqual(v.map((x) => [x.key, ...x.details]), [['too long: daemon/big.ts', 'daemon/big.ts: 401 lines (at most 400)']]);
});
