// What only the PostgreSQL store promises, against a throwaway cluster (tests/lib/postgres.ts):
// migrations from an empty database, once even when several daemons start at the same moment,
// and refused on a schema newer than this Rackhand; events visible in id order while writers on
// several connections commit concurrently (what `events --follow` relies on); racing
// compare-and-sets from several pools; U+0000 kept as U+FFFD. The ports' contract is
// store-conformance-postgres.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { openPostgresStore } from '../../daemon/core/store/postgres.js';
import { LATEST_VERSION } from '../../daemon/core/store/postgres/migrations.js';
import { applyEvent } from '../../daemon/core/lifecycle.js';
import { withOperationPlan } from '../../daemon/core/operation-plan.js';
import type { EventRecord, Store } from '../../daemon/core/store/types.js';
import { spec } from '../lib/machines.js';
import { startPostgres, type PgCluster } from '../lib/postgres.js';

let cluster: PgCluster;
before(async () => { cluster = await startPostgres(); });
after(() => cluster?.stop());

async function sql(database: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client(cluster.config(database));
  await client.connect();
  try { return await client.query(text, params); } finally { await client.end(); }
}

test('migrations build the schema in an empty database; five daemons starting at once apply each once', async () => {
  const database = await cluster.createDatabase('migrate');
  const stores = await Promise.all([1, 2, 3, 4, 5].map(() => openPostgresStore(cluster.config(database))));
  try {
    for (const s of stores) assert.equal(await s.migrate(), LATEST_VERSION);
    const applied = (await sql(database, 'SELECT version FROM rackhand_migrations ORDER BY version')).rows.map((r) => r.version);
    assert.deepEqual(applied, Array.from({ length: LATEST_VERSION }, (_, i) => i + 1));
    const tables = (await sql(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")).rows.map((r) => r.tablename);
    assert.deepEqual(tables, ['allocations', 'api_tokens', 'boot_trace', 'events', 'leases', 'machines', 'operations', 'rackhand_migrations', 'racks', 'ui_sessions', 'work']);
    const types = Object.fromEntries((await sql(database, `SELECT column_name, data_type FROM information_schema.columns
        WHERE table_name = 'machines' AND column_name IN ('power', 'accepted', 'state_changed_at')`)).rows.map((r) => [r.column_name, r.data_type]));
    assert.deepEqual(types, { power: 'jsonb', accepted: 'boolean', state_changed_at: 'timestamp with time zone' });
  } finally {
    for (const s of stores) await s.close();
  }
});

test('a database a newer Rackhand migrated further is refused, not written to', async () => {
  const database = await cluster.createDatabase('newer');
  await (await openPostgresStore(cluster.config(database))).close();
  await sql(database, "INSERT INTO rackhand_migrations (version, says) VALUES ($1, 'from the future')", [LATEST_VERSION + 1]);
  await assert.rejects(openPostgresStore(cluster.config(database)), /schema is at version \d+, newer than this Rackhand knows/);
});

test('events become visible in id order while four connections write at once: a follower misses none', async () => {
  const database = await cluster.createDatabase('follow');
  const writers = await Promise.all([1, 2].map(() => openPostgresStore(cluster.config(database), { maxConnections: 4 })));
  const follower = await openPostgresStore(cluster.config(database), { maxConnections: 1 });
  try {
    await writers[0]!.syncInventory(Array.from({ length: 8 }, (_, i) => spec(i + 1)), 'test');
    const seen: EventRecord[] = [];
    let writing = true;
    const follow = (async () => {
      let last = 0;
      while (writing || (await follower.listEvents({ afterId: last, limit: 10_000 })).length) {
        const batch = await follower.listEvents({ afterId: last, limit: 10_000 });
        seen.push(...batch);
        last = batch.at(-1)?.id ?? last;
      }
    })();
    // Notes and transitions, interleaved on 2 pools × 4 connections.
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      const s = writers[i % 2]!;
      work.push(s.appendEvent({ machine: null, kind: 'note', event: `n${i}`, actor: 'test' }));
    }
    for (let n = 1; n <= 8; n++) {
      const s = writers[n % 2]!;
      const name = spec(n).name;
      work.push((async () => {
        for (const event of ['inspect', 'inspected', 'allocate', 'release'] as const) {
          const m = (await s.getMachine(name))!;
          const r = await s.transition(withOperationPlan({ machine: name, outcome: applyEvent(m, event, { owner: 'x' }), cause: null, actor: 'test' }));
          assert.ok(r.ok, `${name} ${event}`);
          if (event === 'release') break;
        }
      })());
    }
    await Promise.all(work);
    writing = false;
    await follow;
    const all = await follower.listEvents({ afterId: 0, limit: 10_000 });
    assert.equal(all.length, 8 + 200 + 8 * 4);
    assert.deepEqual(seen.map((e) => e.id), all.map((e) => e.id), 'following forward saw every event, in order');
  } finally {
    for (const s of [...writers, follower]) await s.close();
  }
});

test('twenty compare-and-sets on one machine from five pools: exactly one wins, one event', async () => {
  const database = await cluster.createDatabase('race');
  const stores: Store[] = await Promise.all([1, 2, 3, 4, 5].map(() => openPostgresStore(cluster.config(database))));
  try {
    await stores[0]!.syncInventory([spec(1)], 'test');
    for (const event of ['inspect', 'inspected'] as const) {
      const m = (await stores[0]!.getMachine('node-01'))!;
      assert.ok((await stores[0]!.transition(withOperationPlan({ machine: 'node-01', outcome: applyEvent(m, event), cause: null, actor: 'test' }))).ok);
    }
    const ready = (await stores[0]!.getMachine('node-01'))!;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 5]!.transition(withOperationPlan({
      machine: 'node-01', outcome: applyEvent(ready, 'allocate', { owner: `t${i}` }), cause: null, actor: `t${i}`,
    }))));
    assert.equal(results.filter((r) => r.ok).length, 1);
    const events = (await stores[1]!.listEvents({ machine: 'node-01' })).filter((e) => e.event === 'allocate');
    assert.equal(events.length, 1);
    assert.equal((await stores[2]!.getMachine('node-01'))!.owner, events[0]!.actor);
  } finally {
    for (const s of stores) await s.close();
  }
});

test('U+0000, which PostgreSQL cannot store, is kept as U+FFFD instead of failing the write (a hostile vendor class, an agent\'s message)', async () => {
  const store = await openPostgresStore(cluster.config(await cluster.createDatabase('nul')));
  try {
    await store.syncInventory([spec(1)], 'test');
    await store.recordBootFacts('node-01', { vendorClass: 'PXEClient\u0000evil', seenAt: '2024-01-01T00:00:00.000Z' });
    assert.equal((await store.getMachine('node-01'))!.bootFacts?.vendorClass, 'PXEClient\ufffdevil');
    // A DHCP hostname inside a batch of leases (written as arrays): each element cleaned too.
    const at = { state: 'bound' as const, expiresAt: 1_700_000_000_000, machine: null, updatedAt: 1_700_000_000_000 };
    await store.putLeases([{ ...at, mac: 'aa:aa:aa:aa:aa:01', ip: '10.20.0.100', hostname: 'evil\u0000host' }, { ...at, mac: 'aa:aa:aa:aa:aa:02', ip: '10.20.0.101', hostname: 'h2' }]);
    assert.equal((await store.getLease('aa:aa:aa:aa:aa:01'))!.hostname, 'evil\ufffdhost');
    const m = (await store.getMachine('node-01'))!;
    await store.transition(withOperationPlan({ machine: 'node-01', outcome: applyEvent(m, 'inspect'), cause: null, actor: 'test' }));
    const inspecting = (await store.getMachine('node-01'))!;
    const failed = await store.transition(withOperationPlan({
      machine: 'node-01', outcome: applyEvent(inspecting, 'error', { reason: 'disk\u0000gone' }), cause: null, actor: 'agent', data: { message: 'a\u0000b' },
    }));
    assert.ok(failed.ok);
    assert.equal(failed.machine.lastError, 'disk\ufffdgone');
    assert.deepEqual([failed.event.cause, failed.event.data], ['disk\ufffdgone', { message: 'a\ufffdb' }]);
  } finally {
    await store.close();
  }
});
