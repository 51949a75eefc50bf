// Two rack daemons on one PostgreSQL (a throwaway cluster), as separate processes: each does the
// boot work of its own rack's machines; one daemon per rack; when rack-a's daemon is SIGKILLed
// mid-operation, rack-b (its standby) sees it silent, boots its machine again once (a takeover),
// does the boots of new work for it and its timeouts; rack-a's next daemon is let in and rack-b
// stops standing in. Power here is the manual driver: what counts is who records each boot.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, prepareStateDir } from '../lib/daemon.js';
import { runCli, serveProcess, type ServeProcess } from '../lib/cli.js';
import { startPostgres, type PgCluster } from '../lib/postgres.js';
import { tempDir } from '../lib/tmp.js';

const SILENT_AFTER = 3;
const INVENTORY = `site:
  rack_silent_after: ${SILENT_AFTER}
  timeouts: { inspecting: 25 }
racks:
  rack-a:
    interface: rha0
    address: 10.20.0.1
    dhcp: { mode: full, subnet: 10.20.0.0/24 }
    standby: rack-b
  rack-b:
    interface: rhb0
    address: 10.21.0.1
    dhcp: { mode: full, subnet: 10.21.0.0/24 }
    standby: rack-a
machines:
  - { name: a1, mac: "52:54:00:00:0a:01", ip: 10.20.0.11 }
  - { name: a2, mac: "52:54:00:00:0a:02", ip: 10.20.0.12 }
  - { name: b1, mac: "52:54:00:00:0b:01", ip: 10.21.0.11 }
`;

let cluster: PgCluster;
const daemons: ChildProcess[] = [];
before(async () => { cluster = await startPostgres(); });
after(async () => {
  for (const d of daemons) if (d.exitCode === null) d.kill('SIGKILL');
  await cluster?.stop();
});

type Running = ServeProcess;

function serve(args: string[]): Promise<Running> {
  return serveProcess(args, { PGPASSWORD: '' }).then((d) => { daemons.push(d.child); return d; }, (err: { child: ChildProcess }) => { daemons.push(err.child); throw err; });
}

async function api<T>(base: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

interface Ev { machine: string; kind: string; event: string; cause: string; data: { rack?: string } | null }
const powerEvents = async (base: string, machine: string) =>
  (await api<{ events: Ev[] }>(base, `/api/v1/events?machine=${machine}&limit=1000`)).events.filter((e) => e.kind === 'power' && e.data?.rack);

async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('rack daemons split the work, one per rack; a SIGKILLed rack\'s standby takes over its boots and timeouts, once', async () => {
  const database = await cluster.createDatabase('racks');
  const dir = tempDir('racks-pg');
  const inventory = join(dir, 'inventory.yaml');
  mkdirSync(join(dir, 'templates'));
  writeFileSync(inventory, INVENTORY);
  const stateOf = (n: string) => { const s = join(dir, n); prepareStateDir(s); return s; };
  const common = ['--inventory', inventory, '--store', cluster.url(database)];
  const a = await serve([...common, '--rack', 'rack-a', '--state-dir', stateOf('a')]);
  const b = await serve([...common, '--rack', 'rack-b', '--state-dir', stateOf('b')]);

  // One daemon per rack.
  const second = await serve([...common, '--rack', 'rack-a', '--state-dir', stateOf('a2')]).then(() => undefined, (err: { code: number; log: string }) => err);
  assert.equal(second?.code, 1);
  assert.match(second!.log, /rack rack-a is served by daemon \S+ \(heard [\d.]+ s ago\): one daemon per rack/);

  // Work started through rack-b's API for rack-a's machine is booted by rack-a.
  await api(b.url, '/api/v1/machines/a1/actions/inspect', {});
  await api(b.url, '/api/v1/machines/b1/actions/inspect', {});
  const [first] = await until('rack-a booting a1', 10, async () => { const e = await powerEvents(b.url, 'a1'); return e.length ? e : undefined; });
  assert.equal(first!.data!.rack, 'rack-a');
  assert.match(first!.cause, /^booting into inspect by rack rack-a: one-time network boot/);
  await until('rack-b booting b1', 10, async () => (await powerEvents(a.url, 'b1')).some((e) => e.data!.rack === 'rack-b'));

  const racks = await runCli(['racks', '--json'], { RACKHAND_URL: b.url, RACKHAND_TOKEN: ADMIN_TOKEN });
  assert.equal(racks.code, 0, racks.stderr);
  const view = JSON.parse(racks.stdout) as { racks: { name: string; alive: boolean; machines: number; machines_by_state: Record<string, number>; standby: string; standing_in_for: string[] }[] };
  assert.deepEqual(view.racks.map((r) => [r.name, r.alive, r.machines, r.standby, r.standing_in_for]), [['rack-a', true, 2, 'rack-b', []], ['rack-b', true, 1, 'rack-a', []]]);
  assert.deepEqual(view.racks.map((r) => r.machines_by_state), [{ enrolled: 1, inspecting: 1 }, { inspecting: 1 }], 'counted by the store, grouped');

  // rack-a dies mid-inspection of a1.
  a.child.kill('SIGKILL');
  const killedAt = Date.now();
  const takeover = await until('rack-b taking a1 over', SILENT_AFTER + 15, async () => (await powerEvents(b.url, 'a1')).find((e) => e.data!.rack === 'rack-b'));
  assert.match(takeover.cause, /^taking over inspect from a silent rack .* by rack rack-b: one-time network boot/);
  // Silence counts from its last heartbeat, which came up to max(1 s, silentAfter/5) before the kill.
  assert.ok(Date.now() - killedAt >= (SILENT_AFTER - 1) * 1000 - 100, `not before the rack was silent (${Date.now() - killedAt} ms)`);
  const table = await runCli(['racks'], { RACKHAND_URL: b.url, RACKHAND_TOKEN: ADMIN_TOKEN });
  assert.match(table.stdout, /rack-a\s+SILENT/);
  assert.match(table.stdout, /rack-b\s+alive.*rack-a\s*$/m, table.stdout);

  // New work for rack-a's machines is booted by the standby meanwhile.
  await api(b.url, '/api/v1/machines/a2/actions/inspect', {});
  const a2 = await until('rack-b booting a2', 10, async () => (await powerEvents(b.url, 'a2'))[0]);
  assert.equal(a2.data!.rack, 'rack-b');

  // Its timeouts too: a1 has been inspecting past its limit with rack-a gone.
  const failed = await until('a1 timing out', 40, async () => {
    const { machine } = await api<{ machine: { state: string; last_error: string } }>(b.url, '/api/v1/machines/a1');
    return machine.state === 'failed' ? machine : undefined;
  });
  assert.match(failed.last_error, /timed out in inspecting after 25 s/);

  // rack-a's next daemon is let in at once; rack-b stops standing in.
  const a3 = await serve([...common, '--rack', 'rack-a', '--state-dir', stateOf('a3')]);
  await until('rack-b no longer standing in', 15, async () => {
    const v = await api<{ racks: { name: string; alive: boolean; standing_in_for: string[] }[] }>(a3.url, '/api/v1/racks');
    return v.racks.every((r) => r.alive && r.standing_in_for.length === 0);
  });
  await until('rack-b saying so', 10, async () => /rack rack-a is heard again: no longer standing in/.test(b.log()));

  // Exactly once: a1 was booted by rack-a, then taken over once by rack-b; a2 and b1 once each.
  const counts = async (m: string) => (await powerEvents(b.url, m)).map((e) => `${e.event}@${e.data!.rack}`);
  assert.deepEqual(await counts('a1'), ['on@rack-a', 'on@rack-b']);
  assert.deepEqual(await counts('a2'), ['on@rack-b']);
  assert.deepEqual(await counts('b1'), ['on@rack-b']);
});

test('a rack daemon restarted on the same host after a crash is let in at once; one still running is not', async () => {
  const database = await cluster.createDatabase('restart');
  const dir = tempDir('racks-pg-restart');
  const inventory = join(dir, 'inventory.yaml');
  mkdirSync(join(dir, 'templates'));
  writeFileSync(inventory, INVENTORY.replace(`rack_silent_after: ${SILENT_AFTER}`, 'rack_silent_after: 60'));
  const stateOf = (n: string) => { const s = join(dir, n); prepareStateDir(s); return s; };
  const common = ['--inventory', inventory, '--store', cluster.url(database), '--rack', 'rack-a'];
  const first = await serve([...common, '--state-dir', stateOf('1')]);
  const refused = await serve([...common, '--state-dir', stateOf('2')]).then(() => undefined, (err: { code: number }) => err);
  assert.equal(refused?.code, 1, 'the first one still runs: refused');
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  const t = Date.now();
  const again = await serve([...common, '--state-dir', stateOf('3')]);
  assert.ok(Date.now() - t < 15_000, 'not after waiting out the 60 s silence');
  assert.match(again.log(), /the previous daemon of rack rack-a on this host is gone: taking the rack over at once/);
});
