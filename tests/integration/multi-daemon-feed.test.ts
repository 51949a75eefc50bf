// Two daemons on one PostgreSQL database (a throwaway cluster, tests/lib/postgres.ts), HTTP only
// and without power actions: what one does, a follower of the other sees at once (the event feed:
// NOTIFY on every event, a LISTEN connection per daemon), across a restart of the database too
// (the listener reconnects and resyncs); `--wait` on one daemon sees work finished through the
// other; and allocations racing through both daemons never hand out a machine twice.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { startTestDaemon, type TestDaemon } from '../lib/daemon.js';
import { call, makeReady, rackInventory, type RackMachine } from '../lib/allocation.js';
import { CLI_MAIN } from '../lib/cli.js';
import { startPostgres, type PgCluster } from '../lib/postgres.js';
import { act } from '../../daemon/core/actions.js';
import { openPostgresStore } from '../../daemon/core/store/postgres.js';
import type { Store } from '../../daemon/core/store/types.js';

const RACK: RackMachine[] = [1, 2, 3, 4, 5].map((i) => ({ name: `fit-0${i}`, cpus: 8, memoryGib: 32, diskGib: 100 }));

let cluster: PgCluster;
let database: string;
let d1: TestDaemon;
let d2: TestDaemon;
/** A third handle on the database, counting its listener's outage reports. */
let watcher: Store;
const outages = { lost: 0, restored: 0 };
const children: ChildProcess[] = [];

before(async () => {
  cluster = await startPostgres();
  database = await cluster.createDatabase('fanout');
  const inventoryFile = rackInventory(RACK);
  const serve = { store: cluster.url(database) };
  d1 = await startTestDaemon({ inventoryFile, serve });
  d2 = await startTestDaemon({ inventoryFile, serve });
  await makeReady(d1.daemon.store, RACK);
  watcher = await openPostgresStore(cluster.config(database), { onListener: { lost: () => outages.lost++, restored: () => outages.restored++ } });
});
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await d1?.close();
  await d2?.close();
  await watcher?.close();
  await cluster?.stop();
});

/** The rackhand CLI against `d`, its output gathered as it comes. */
function cli(d: TestDaemon, args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RACKHAND_URL: d.url, RACKHAND_TOKEN: d.tokens.admin },
  });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (b) => (out.stdout += b));
  child.stderr!.on('data', (b) => (out.stderr += b));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out, exited };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<number> {
  const start = Date.now();
  while (!(await ok())) {
    if (Date.now() - start > ms) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}

const heldOn = async (d: TestDaemon) => Number(/^rackhand_event_waits (\d+)$/m.exec(await (await fetch(`${d.url}/metrics`)).text())?.[1]);

async function listeners(): Promise<number> {
  const db = new pg.Client(cluster.config('postgres'));
  await db.connect();
  try {
    const { rows } = await db.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'rackhand-listen' AND datname = $1", [database]);
    return rows[0].n as number;
  } finally {
    await db.end();
  }
}

/** An operator action through daemon 2's API, then how long until daemon 1's follower printed it. */
async function seenWithin(follower: { out: { stdout: string } }, machine: string, event: string, ms: number): Promise<number> {
  const printed = new RegExp(`\\s${machine}\\s+transition\\s+${event}\\s`);
  assert.ok(!printed.test(follower.out.stdout), `${machine} ${event} not printed yet`);
  const start = Date.now();
  const r = await call(d2.url, d2.tokens.admin, 'POST', `/api/v1/machines/${machine}/actions/${event}`, event === 'fail' ? { reason: 'test' } : {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await until(`daemon 1's follower prints ${machine} ${event}\n${follower.out.stdout}`, () => printed.test(follower.out.stdout), ms);
  return Date.now() - start;
}

test('events --follow on daemon 1 prints what daemon 2 did within 1.5 s, and still does after PostgreSQL restarts', async () => {
  assert.equal(await listeners(), 3, 'each daemon (and the watcher) listens on its own connection');
  const follower = cli(d1, ['events', '--follow']);
  await until('the follower to hold a long-poll on daemon 1', async () => (await heldOn(d1)) === 1, 20_000);
  // Three in a row: the periodic resync (every 5 s) alone would not make all three in time.
  for (const machine of ['node-01', 'node-02', 'node-03']) {
    const ms = await seenWithin(follower, machine, 'inspect', 1500);
    assert.ok(ms < 1500, `${machine}: ${ms} ms`);
  }

  // Down long enough for several reconnect attempts (0.2 s, 0.4 s, 0.8 s apart).
  await cluster.restart({ downMs: 1500 });
  // Made at once: daemon 1 may not be listening again yet; its resync after reconnecting finds it.
  const ms = await seenWithin(follower, 'node-01', 'fail', 10_000);
  assert.ok(ms < 10_000, `across the restart: ${ms} ms`);
  await until('both daemons to listen again', async () => (await listeners()) === 3, 10_000);
  assert.deepEqual(outages, { lost: 1, restored: 1 }, 'one report when the outage began, one when it ended, not one per attempt');
  const again = await seenWithin(follower, 'node-02', 'fail', 1500);
  assert.ok(again < 1500, `after reconnecting, notified again: ${again} ms`);
  assert.equal(follower.child.exitCode, null, `the follower is still running: ${follower.out.stderr}`);
  follower.child.kill('SIGTERM');
  await follower.exited;
});

test('--wait on daemon 1 ends as soon as the work finishes through daemon 2', async () => {
  const waiter = cli(d1, ['inspect', 'node-01', '--wait']);
  await until('the waiter to start following', () => /node-01: inspecting/.test(waiter.out.stdout), 20_000);
  // Past its first read of the machine: it now waits on the machine's events.
  await new Promise((r) => setTimeout(r, 300));
  const start = Date.now();
  await d2.daemon.store.setFacts('node-01', { cpus: 2, memory_mib: 4096, arch: 'x86_64', disks: [], nics: [] });
  await act(d2.daemon.store, { machine: 'node-01', event: 'inspected', actor: 'agent' });
  const code = await waiter.exited;
  const ms = Date.now() - start;
  assert.equal(code, 0, waiter.out.stderr);
  assert.match(waiter.out.stdout, /node-01: ready/);
  assert.ok(ms < 1500, `exited ${ms} ms after the transition`);
});

test('20 allocations for 5 ready machines, fired at once through both daemons: 5 win, no machine twice, the rest 409', async () => {
  const want = { profile: 'lab-image', constraints: { cpus: 8, memory_gib: 32, arch: 'x86_64' } };
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => {
    const d = i % 2 ? d2 : d1;
    return call(d.url, d.tokens.admin, 'POST', '/api/v1/allocations', { ...want, owner: `t${i}` }).then((r) => ({ ...r, owner: `t${i}` }));
  }));
  const won = results.filter((r) => r.status === 201);
  const lost = results.filter((r) => r.status !== 201);
  assert.equal(won.length, 5, JSON.stringify(results.map((r) => r.status)));
  for (const r of lost) {
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.ok(['NO_FIT', 'CONFLICT'].includes(r.body.error.code), r.body.error.code);
  }
  const names = won.map((r) => r.body.allocation.machines[0].name as string).sort();
  assert.deepEqual(names, RACK.map((m) => m.name), 'each ready machine once');

  // The database agrees: one allocate event and one active allocation per machine, its winner the owner.
  const db = new pg.Client(cluster.config(database));
  await db.connect();
  try {
    const events = await db.query("SELECT machine, count(*)::int AS n FROM events WHERE event = 'allocate' GROUP BY machine ORDER BY machine");
    assert.deepEqual(events.rows, names.map((machine) => ({ machine, n: 1 })));
  } finally {
    await db.end();
  }
  const active = await d1.daemon.store.listAllocations({ state: 'active' });
  assert.equal(active.length, 5);
  for (const r of won) {
    const m = (await d2.daemon.store.getMachine(r.body.allocation.machines[0].name))!;
    assert.equal(m.owner, r.owner);
    assert.equal(m.state, 'deploying');
    assert.ok(active.some((a) => a.owner === r.owner && a.machines.includes(m.name)));
  }
});
