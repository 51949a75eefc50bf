// The database going away under a DHCP storm (issue 14): `rackhand serve` on a PostgreSQL store, in
// a namespace, with two recording load clients (tests/net/dhcp-load-client.ts) — 300 machines
// renewing every second, and thousands of newcomers — when PostgreSQL is stopped with
// `pg_ctl stop -m immediate` for six seconds and started again. The daemon must not crash or be
// restarted; it reconnects by itself; the API answers 503 during the outage and 200 after; TFTP
// keeps serving from disk; renewals during the outage are ACKed for no more than the time left of
// the lease already written; newcomers get no lease then; and every lease any client saw ACKed is
// in the database, expiring no earlier than the ACK said.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { twoHostLink, type Netns } from '../lib/netns.js';
import { ADMIN_TOKEN, prepareStateDir, REPO } from '../lib/daemon.js';
import { startPostgres } from '../lib/postgres.js';
import { tempDir } from '../lib/tmp.js';

const LOADER = join(import.meta.dirname, 'dhcp-load-client.ts');
const RENEWERS = 300;
const NEWCOMERS = 6000;
const LEASE_S = 3600;
const OUTAGE_MS = 6000;
const loadMac = (n: number) => `02:00:00:00:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function inventory(dir: string, store: string): string {
  const images = join(dir, 'images');
  mkdirSync(images);
  writeFileSync(join(images, 'ipxe.efi'), Buffer.alloc(40_000, 7));
  const machines = Array.from({ length: RENEWERS + NEWCOMERS }, (_, n) => `  - { name: load-${n}, mac: "${loadMac(n)}" }\n`).join('');
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, `site:
  interface: prov0
  address: 10.20.0.1
  http_port: 8080
  images_dir: ${images}
  store: ${JSON.stringify(store)}
  dhcp:
    mode: full
    subnet: 10.20.0.0/16
    router: 10.20.0.1
    pool: 10.20.1.0-10.20.255.254
    lease_time: ${LEASE_S}
machines:
${machines}`);
  return file;
}

interface Ack { mac: string; ip: string; seconds: number; at: number }

/** A recording load client in `ns`; its ACKs land in `acks` as they come. */
function loadClient(ns: Netns, giaddr: string, count: number, rate: number, first: number, acks: Ack[]) {
  const child = ns.spawn(process.execPath, ['--import', 'tsx', LOADER, '10.20.0.1', giaddr, String(count), String(rate), String(first)]);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-3000); });
  const started = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const [kind, mac, ip, seconds, at] = l.split(' ');
      if (kind === 'started') resolve();
      if (kind === 'ACK') acks.push({ mac: mac!, ip: ip!, seconds: Number(seconds), at: Number(at) });
    });
    child.once('exit', (code) => reject(new Error(`load client exited ${code}: ${err}`)));
  });
  return { child, started, stderr: () => err };
}

test('PostgreSQL stopped mid-storm: the daemon keeps renewing only what is durable, refuses the rest clearly, reconnects by itself, loses nothing', { timeout: 180_000 }, async (t) => {
  const cluster = await startPostgres();
  const link = await twoHostLink({ tag: 'rhdbo', serverIf: 'prov0', serverAddress: '10.20.0.1', prefixLength: 16, clientAddress: '10.20.0.2' });
  const started: ChildProcess[] = [];
  let log = '';
  try {
    const database = await cluster.createDatabase('outage');
    // The daemon's namespace has no route to the cluster's TCP port: it connects over the Unix socket.
    const store = `postgresql://${cluster.user}@localhost:${cluster.port}/${database}?host=${encodeURIComponent(cluster.socketDir)}`;
    const dir = tempDir('pg-outage');
    const state = join(dir, 'state');
    prepareStateDir(state);
    await link.client.ip('addr', 'add', '10.20.0.3/16', 'dev', 'eth0');
    await link.client.ip('addr', 'add', '10.20.0.4/16', 'dev', 'eth0');

    const daemon = link.server.spawn(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'serve',
      '--inventory', inventory(dir, store), '--state-dir', state, '--no-power'], { cwd: REPO });
    started.push(daemon);
    await new Promise<void>((resolve, reject) => {
      daemon.stdout!.on('data', (b: Buffer) => { log += b; if (log.includes('DHCP listening')) resolve(); });
      daemon.stderr!.on('data', (b: Buffer) => { log += b; });
      daemon.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${log.slice(-3000)}`)));
    });
    let exited: string | undefined;
    daemon.once('exit', (code, signal) => { exited = `exit ${code} ${signal ?? ''}`; });

    const api = async (path: string) => {
      const out = await link.server.exec('curl', ['-sS', '-m', '10', '-H', `authorization: Bearer ${ADMIN_TOKEN}`, '-w', '\n%{http_code}', `http://127.0.0.1:8080${path}`]);
      const i = out.lastIndexOf('\n');
      return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
    };
    const metric = async (name: string) => {
      const text = (await api('/metrics')).body;
      return Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    };
    const tftpBytes = async () => Number(await link.client.exec('curl', ['-sS', '-m', '10', '-o', '/dev/null', '-w', '%{size_download}', 'tftp://10.20.0.1/ipxe.efi']));
    assert.equal((await api('/api/v1/machines/load-0')).status, 200);

    const acks: Ack[] = [];
    const renewers = loadClient(link.client, '10.20.0.3', RENEWERS, RENEWERS, 0, acks);
    started.push(renewers.child);
    await renewers.started;
    // Every renewer holds a durable lease before the newcomers start and the database goes.
    const t0 = Date.now();
    while (new Set(acks.map((a) => a.mac)).size < RENEWERS && Date.now() - t0 < 20_000) await sleep(100);
    assert.equal(new Set(acks.map((a) => a.mac)).size, RENEWERS, `renewers: ${renewers.stderr()}`);
    const newcomers = loadClient(link.client, '10.20.0.4', NEWCOMERS, 300, RENEWERS, acks);
    started.push(newcomers.child);
    await newcomers.started;
    await sleep(2000);

    await cluster.halt('immediate');
    const haltedAt = Date.now();
    const beforeHalt = new Set(acks.filter((a) => a.at < haltedAt).map((a) => a.mac));
    await sleep(1000);
    const during = await api('/api/v1/machines/load-0');
    assert.equal(during.status, 503, during.body);
    assert.equal(JSON.parse(during.body).error.code, 'STORE_UNAVAILABLE');
    assert.match(JSON.parse(during.body).error.message, /store .* is unavailable/);
    assert.equal((await api('/healthz')).status, 200);
    assert.equal(JSON.parse((await api('/healthz')).body).store, 'unavailable');
    assert.equal(await metric('rackhand_store_available'), 0);
    assert.equal(await tftpBytes(), 40_000, 'TFTP serves from disk while the database is away');
    await sleep(OUTAGE_MS - (Date.now() - haltedAt));
    const resumedAt = Date.now();
    await cluster.resume();

    // No restart: the same process finds the database again by itself.
    let after = await api('/api/v1/machines/load-0');
    while (after.status !== 200 && Date.now() - resumedAt < 15_000) { await sleep(200); after = await api('/api/v1/machines/load-0'); }
    assert.equal(after.status, 200, after.body);
    await sleep(3000);
    for (const c of [renewers.child, newcomers.child]) c.kill('SIGTERM');
    await sleep(500);
    assert.equal(exited, undefined, `the daemon ended: ${log.slice(-3000)}`);

    // Outage ACKs (from well after the halt, so none was sent before it): renewals only, each for
    // no more than what was written before the halt has left, which is under a full lease.
    const outage = acks.filter((a) => a.at > haltedAt + 1500 && a.at < resumedAt);
    assert.ok(outage.length > 100, `only ${outage.length} ACKs during the outage`);
    const overpromised = outage.filter((a) => a.seconds * 1000 > haltedAt + LEASE_S * 1000 - a.at + 1000);
    assert.deepEqual(overpromised.slice(0, 5), [], `${overpromised.length} outage ACKs promised more than was durable`);
    const strangers = outage.filter((a) => !beforeHalt.has(a.mac));
    assert.deepEqual(strangers.slice(0, 5), [], 'a new lease was ACKed while nothing could be written');
    const newAfter = acks.filter((a) => a.at > resumedAt && !beforeHalt.has(a.mac));
    t.diagnostic(`${acks.length} ACKs: ${beforeHalt.size} MACs before the halt, ${outage.length} renewals during the outage `
      + `(lease ${Math.min(...outage.map((a) => a.seconds))}–${Math.max(...outage.map((a) => a.seconds))} s), ${newAfter.length} new leases after it`);
    assert.ok(newAfter.length > 100, `only ${newAfter.length} new leases after the database came back`);

    // Everything ACKed is in the database, expiring no earlier than promised (2 s: delivery, rounding).
    const db = new pg.Client({ host: cluster.socketDir, port: cluster.port, user: cluster.user, database });
    await db.connect();
    let rows: { mac: string; ip: string; state: string; expires: number }[];
    try {
      rows = (await db.query(`SELECT mac, ip, state, expires_at::float8 AS expires FROM leases`)).rows;
    } finally {
      await db.end();
    }
    const leases = new Map(rows.map((r) => [r.mac, r]));
    const lost = acks.filter((a) => {
      const l = leases.get(a.mac);
      return !l || l.ip !== a.ip || l.state !== 'bound' || l.expires < a.at + a.seconds * 1000 - 2000;
    });
    assert.deepEqual(lost.slice(0, 5).map((a) => ({ ...a, row: leases.get(a.mac) })), [], `${lost.length} of ${acks.length} ACKs are not in the database as promised`);

    assert.ok(await metric('rackhand_dhcp_drops_total{reason="store_unavailable"}') > 100, 'newcomers were refused and counted');
    assert.ok(await metric('rackhand_store_refused_requests_total{server="dhcp"}') > 100);
    assert.ok(await metric('rackhand_store_refused_requests_total{server="http"}') >= 1);
    assert.equal(await metric('rackhand_store_available'), 1);
    // Told once when it began and once when it ended, not per packet or request.
    assert.equal(log.match(/the store is unavailable/g)?.length, 1, log.slice(-3000));
    assert.equal(log.match(/the store is available again after/g)?.length, 1);
    assert.doesNotMatch(log, /"level":50.*(request failed|timeout sweep failed|recording boot facts failed)/);
    assert.doesNotMatch(log, /unhandled|uncaught/i);

    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    assert.equal(daemon.exitCode, 0, log.slice(-2000));
  } catch (err) {
    process.stderr.write(`daemon log (last part):\n${log.slice(-6000)}\n`);
    throw err;
  } finally {
    for (const c of started) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
    await link.close();
    await cluster.stop();
  }
});
