// SqliteDb.commit: the writes asked for in one turn of the event loop share one transaction, each
// in a savepoint of its own, and so do those of the next turns while more keep arriving. A write
// that throws takes only its own statements back; the others commit; every caller hears of its
// write only once it is in the file (a second connection sees it).
// And the daemon's checkpoints, in a worker thread of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { GATHER_MS, SqliteDb } from '../../daemon/core/store/sqlite/db.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { tempDir } from '../lib/tmp.js';

function open(): { d: SqliteDb; file: string; committed: number[] } {
  const file = join(tempDir('commit'), 'test.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)');
  db.exec(`CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT, machine TEXT, kind TEXT, event TEXT,
    from_state TEXT, to_state TEXT, cause TEXT, actor TEXT, data TEXT)`);
  const committed: number[] = [];
  return { d: new SqliteDb(db, (n) => committed.push(n)), file, committed };
}

test('one turn\'s writes commit together; a failing one is undone alone and rejects alone', async () => {
  const { d, file } = open();
  const other = new Database(file, { readonly: true });
  const count = () => other.prepare('SELECT count(*) FROM t').pluck().get() as number;
  const insert = (v: string) => d.stmt('INSERT INTO t (v) VALUES (?)').run(v).changes;
  const seenAtResolve: number[] = [];
  const a = d.commit(() => insert('a')).then((n) => { seenAtResolve.push(count()); return n; });
  const bad = d.commit(() => { insert('b'); insert('a'); }); // the second insert breaks UNIQUE: 'b' must go too
  const c = d.commit(() => insert('c'));
  assert.equal(count(), 0, 'nothing is written before the turn ends');
  assert.equal(await a, 1);
  await assert.rejects(bad, /UNIQUE/);
  assert.equal(await c, 1);
  assert.deepEqual(seenAtResolve, [2], 'resolved only once committed: another connection sees both rows');
  assert.deepEqual(other.prepare('SELECT v FROM t ORDER BY v').pluck().all(), ['a', 'c']);
  other.close();
});

test('events written in a batch are announced once, after the commit, with the newest id', async () => {
  const { d, committed } = open();
  const ev = (machine: string) => d.commit(() => d.insertEvent({ machine, kind: 'agent', event: 'x', actor: 'test' }));
  const [e1, e2] = await Promise.all([ev('m1'), ev('m2')]);
  assert.deepEqual([e1.machine, e2.machine], ['m1', 'm2']);
  assert.equal(e2.id, e1.id + 1);
  assert.deepEqual(committed, [e2.id]);
  // The record handed back is the one a read gives.
  const back = d.stmt('SELECT * FROM events WHERE id = ?').get(e1.id) as Record<string, unknown>;
  assert.equal(back.time, e1.time);
  await assert.rejects(d.commit(() => { d.insertEvent({ machine: 'm3', kind: 'agent', actor: 'test' }); throw new Error('no'); }), /no/);
  assert.deepEqual(committed, [e2.id], 'an event undone is never announced');
});

test('writes that keep arriving turn after turn wait for each other: one commit; a lone writer is not held', async () => {
  const { d, committed } = open();
  const ev = (machine: string) => d.commit(() => d.insertEvent({ machine, kind: 'agent', event: 'x', actor: 'test' }));
  // Two writes in one turn, a third in the next (as a storm's DHCP, agents and work runner do).
  const first = [ev('m1'), ev('m2')];
  const third = await new Promise<Promise<unknown>>((r) => setImmediate(() => r(ev('m3'))));
  await Promise.all([...first, third]);
  assert.equal(committed.length, 1, `one commit for the three (announced ids: ${committed.join(', ')})`);
  // One write at a time, each awaited: every one commits at the end of its own turn, never held
  // for the gathering's time limit (GATHER_MS each would take 200 ms at least).
  const started = performance.now();
  for (let i = 0; i < 20; i++) await ev(`lone${i}`);
  const took = performance.now() - started;
  assert.equal(committed.length, 21);
  assert.ok(took < 20 * GATHER_MS * 0.75, `20 lone writes took ${Math.round(took)} ms`);
});

test('checkpointInBackground: a worker copies the WAL into the database file; close stops it', async () => {
  const file = join(tempDir('checkpoint'), 'rackhand.db');
  const warnings: string[] = [];
  const store = await openSqliteStore(file, { checkpointInBackground: { warn: (m) => warnings.push(m) } });
  const before = statSync(file).size;
  // About 1,500 pages: below the committing connection's own mark, so only the worker copies them.
  for (let i = 0; i < 300; i++) await store.appendEvent({ machine: null, kind: 'agent', event: 'pad', actor: 'test', data: { pad: 'x'.repeat(16_000) } });
  const deadline = Date.now() + 5000;
  while (statSync(file).size < before + (4 << 20) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(statSync(file).size >= before + (4 << 20), `the database file grew from ${before} to ${statSync(file).size} bytes`);
  assert.equal((await store.listEvents({ limit: 10000 })).filter((e) => e.event === 'pad').length, 300);
  await store.close();
  assert.deepEqual(warnings, []);
});
