// What only the SQLite store promises: the schema built by its migrations in WAL mode, and four
// processes racing one compare-and-set on the same file. The ports' contract (sync, transitions,
// events, leases, operations) is tests/lib/store-conformance/, run by store-conformance.test.ts;
// kill -9 at random moments is crash.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { LATEST_VERSION } from '../../daemon/core/store/sqlite/migrations.js';
import { applyEvent } from '../../daemon/core/lifecycle.js';
import { tempDir } from '../lib/tmp.js';
import { spec } from '../lib/machines.js';
import { withOperationPlan } from '../../daemon/core/operation-plan.js';

test('migrations build the schema from an empty file, and a second open changes nothing', async () => {
  const file = join(tempDir('store'), 'rackhand.db');
  const store = await openSqliteStore(file);
  assert.equal(await store.migrate(), LATEST_VERSION);
  await store.close();
  const again = await openSqliteStore(file);
  assert.equal(await again.migrate(), LATEST_VERSION);
  const db = new Database(file, { readonly: true });
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => (r as { name: string }).name);
  for (const t of ['events', 'leases', 'machines', 'operations']) assert.ok(tables.includes(t), `table ${t}`);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
  await again.close();
});

test('four processes racing the same compare-and-set: exactly one wins, every round', async () => {
  const file = join(tempDir('race'), 'rackhand.db');
  const store = await openSqliteStore(file);
  await store.syncInventory([spec(1)], 'test');
  const step = async (event: 'inspect' | 'inspected' | 'release') => {
    const m = (await store.getMachine('node-01'))!;
    assert.ok((await store.transition(withOperationPlan({ machine: 'node-01', outcome: applyEvent(m, event), cause: 'setup', actor: 'test' }))).ok);
  };
  await step('inspect');
  await step('inspected');
  const worker = fileURLToPath(new URL('../lib/cas-worker.ts', import.meta.url));
  for (let round = 0; round < 3; round++) {
    const go = Date.now() + 2500;
    const results = await Promise.all([1, 2, 3, 4].map((n) => new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', worker, file, String(go), `racer-${n}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`worker exit ${code}`))));
    })));
    assert.deepEqual(results.filter((r) => r === 'won').length, 1, `round ${round}: ${results.join(',')}`);
    const m = (await store.getMachine('node-01'))!;
    assert.equal(m.state, 'allocated');
    const winners = (await store.listEvents({ machine: 'node-01' })).filter((e) => e.event === 'allocate');
    assert.equal(winners.length, round + 1, 'one allocate event per round');
    assert.equal(m.owner, winners.at(-1)!.actor, 'the owner is the racer whose event was recorded');
    await step('release');
  }
  await store.close();
});

