// Attack: make the daemon work the BMCs for you. A tenant (and a read-only token) asks for the
// power state of its machines over and over, or asks and hangs up. Before issue 11 every such
// GET queued a full BMC login in the BMC's queue, and nothing cancelled it when the client left:
// three abandoned calls held an admin's power action for 109 s. Now readers are answered from a
// short per-machine cache with one shared BMC call, and a client that leaves takes its call out
// of the queue (or aborts it while it runs).
//
// Real parts: the daemon (`rackhand serve`) and a slow Redfish BMC (the lab's emulator with every
// system GET held READ_DELAY ms, journaling each request) run in one network namespace; the
// tenant, the read-only viewer and the admin are curl in a second one. The journal is the BMC's
// own record of what it was asked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { twoHostLink, type Link } from '../lib/netns.js';
import { inventoryCopy, prepareStateDir, ADMIN_TOKEN, READONLY_TOKEN, REPO } from '../lib/daemon.js';
import { makeReady, type RackMachine } from '../lib/allocation.js';
import { tempDir } from '../lib/tmp.js';
import { validateInventory } from '../../daemon/core/inventory/validate.js';
import { machineSpecs } from '../../daemon/core/inventory/load.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';

const PASSWORD = 'Rf-Reads-5e71c2';
const READ_DELAY = 600;
const BMC_PORT = 8443;
const API = 'http://10.40.0.1:8080';
const TENANT_MACHINES: RackMachine[] = [1, 2, 3].map((i) => ({ name: `pr-0${i}`, cpus: 4, memoryGib: 16, diskGib: 100 }));
const ADMIN_MACHINE = 'pr-04';

interface Entry { method: string; path: string; start: number; end: number; status: number }

let link: Link;
let dir: string;
let journalFile: string;
let bmc: ChildProcess;
let daemon: ChildProcess;
let daemonErr = '';
let tenant = '';

const journal = (): Entry[] => (existsSync(journalFile) ? readFileSync(journalFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry) : []);
const systemGets = (entries: Entry[], ids: string[]) => entries.filter((e) => e.method === 'GET' && ids.some((id) => e.path === `/redfish/v1/Systems/${id}`));

/** curl in the client namespace, bodies discarded; --parallel for many URLs. Returns curl's -w lines. */
async function curl(args: string[], urls: string[]): Promise<string[]> {
  const out = await link.client.exec('curl', ['-s', ...args, ...urls.flatMap((u) => ['-o', '/dev/null', u])]).catch((e: Error) => {
    // curl exits 28 when --max-time cuts it off: that is the point of the abandoning calls.
    if (/--max-time/.test(args.join(' '))) return '';
    throw e;
  });
  return out.trim().split('\n').filter(Boolean);
}
const auth = (token: string) => ['-H', `Authorization: Bearer ${token}`];

async function adminOff(): Promise<{ code: string; seconds: number }> {
  const [line] = await curl([...auth(ADMIN_TOKEN), '-X', 'POST', '-H', 'Content-Type: application/json', '-d', '{"action":"off"}',
    '-w', '%{http_code} %{time_total}\n'], [`${API}/api/v1/machines/${ADMIN_MACHINE}/power`]);
  const [code, seconds] = line!.split(' ');
  return { code: code!, seconds: Number(seconds) };
}

async function apiJson(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const out = await link.client.exec('curl', ['-s', ...auth(token), '-X', method, ...(body ? ['-H', 'Content-Type: application/json', '-d', JSON.stringify(body)] : []),
    '-w', '\n%{http_code}', `${API}${path}`]);
  const i = out.lastIndexOf('\n');
  return { status: Number(out.slice(i + 1)), body: JSON.parse(out.slice(0, i) || 'null') };
}

async function waitForLine(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no ${what} within 30 s`)), 30_000);
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); resolve(buf.slice(0, nl)); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what}: exited ${code}`)); });
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null && child.signalCode === null) { process.kill(child.pid, 'SIGKILL'); await gone; }
}

before(async () => {
  dir = tempDir('pwrreads');
  journalFile = join(dir, 'bmc-journal.jsonl');
  link = await twoHostLink({ tag: 'pwrrd', serverIf: 'api0', serverAddress: '10.40.0.1', clientAddress: '10.40.0.2' });
  const node = process.execPath;

  // The slow BMC: four systems behind one address (one BMC queue), none ever powered on.
  bmc = link.server.spawn(node, ['--import', 'tsx', 'daemon/lab/redfish-emulator/main.ts', '--dir', join(dir, 'bmc'), '--port', String(BMC_PORT),
    '--vm', 's1', '--vm', 's2', '--vm', 's3', '--vm', 's4', '--read-delay-ms', String(READ_DELAY), '--journal', journalFile],
  { cwd: REPO, env: { ...process.env, REDFISH_PASSWORD: PASSWORD } });
  const { caFile } = JSON.parse(await waitForLine(bmc, 'emulator start line')) as { caFile: string };

  const inventoryFile = inventoryCopy();
  const names = [...TENANT_MACHINES.map((m) => m.name), ADMIN_MACHINE];
  appendFileSync(inventoryFile, names.map((name, i) => `  - name: ${name}
    mac: 52:54:00:00:07:0${i + 1}
    ip: 10.20.0.7${i + 1}
    profile: lab-image
    power: { driver: redfish, address: "127.0.0.1:${BMC_PORT}", username: admin, password_env: RF_PW, ca_file: "${caFile}", system: s${i + 1} }
`).join(''));
  const stateDir = join(dir, 'state');
  prepareStateDir(stateDir);
  // The tenant's three machines are inspected and ready before the daemon starts.
  const loaded = validateInventory(inventoryFile);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
  const store = await openSqliteStore(join(stateDir, 'rackhand.db'));
  await store.syncInventory(machineSpecs(loaded.value.inventory), 'inventory');
  await makeReady(store, TENANT_MACHINES);
  await store.close();

  daemon = link.server.spawn(node, ['--import', 'tsx', 'daemon/cli/main.ts', 'serve', '--inventory', inventoryFile, '--state-dir', stateDir,
    '--listen', '10.40.0.1', '--port', '8080', '--http-only', '--no-power'], { cwd: REPO, env: { ...process.env, RF_PW: PASSWORD } });
  daemon.stderr!.on('data', (c: Buffer) => { daemonErr = (daemonErr + c.toString()).slice(-4000); });
  daemon.stdout!.resume();
  for (let i = 0; ; i++) {
    const ok = await link.client.exec('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${API}/healthz`]).catch(() => '');
    if (ok === '200') break;
    if (i > 100) throw new Error(`the daemon did not come up: ${daemonErr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const token = await apiJson(ADMIN_TOKEN, 'POST', '/api/v1/tokens', { owner: 'mallory', name: 'mallory-ci' });
  assert.equal(token.status, 201, JSON.stringify(token.body));
  tenant = token.body.secret;
  const alloc = await apiJson(tenant, 'POST', '/api/v1/allocations', { profile: 'lab-image', count: 3 });
  assert.equal(alloc.status, 201, JSON.stringify(alloc.body));
  assert.deepEqual(alloc.body.allocation.machines.map((m: { name: string }) => m.name).sort(), TENANT_MACHINES.map((m) => m.name));
});

after(async () => {
  await stop(daemon);
  await stop(bmc);
  await link?.close();
});

test('abandoned tenant, read-only and admin reads are dropped: the admin\'s power action is not held up', async () => {
  const baseline = await adminOff();
  assert.equal(baseline.code, '200', daemonErr);
  // An admin action here is one login, two slow system reads (state, then the poll) and a logout.
  assert.ok(baseline.seconds >= 2 * READ_DELAY / 1000, `the BMC is slow: ${baseline.seconds} s`);

  const from = journal().length;
  const urls = (m: string) => `${API}/api/v1/machines/${m}/power`;
  const abandon = (token: string, list: string[]) => curl(['--parallel', '--parallel-immediate', '--parallel-max', '50', '--max-time', '0.3', ...auth(token)], list);
  const tenantMachines = TENANT_MACHINES.map((m) => m.name);
  // 9 tenant reads, 3 read-only reads and 3 admin fresh reads, every one hung up after 0.3 s.
  // Served one after the other, as before, they are 15 slow BMC sessions: 9 s ahead of the admin.
  await Promise.all([
    abandon(tenant, [...tenantMachines, ...tenantMachines, ...tenantMachines].map(urls)),
    abandon(READONLY_TOKEN, tenantMachines.map(urls)),
    abandon(ADMIN_TOKEN, tenantMachines.map((m) => `${urls(m)}?fresh=true`)),
  ]);
  const action = await adminOff();
  assert.equal(action.code, '200', daemonErr);
  const entries = journal().slice(from);
  const readerGets = systemGets(entries, ['s1', 's2', 's3']);
  const logins = entries.filter((e) => e.method === 'POST' && e.path.endsWith('/Sessions'));
  const logouts = entries.filter((e) => e.method === 'DELETE' && e.status === 204);
  console.log(`# admin off: ${baseline.seconds} s alone, ${action.seconds} s after 15 abandoned reads; the BMC saw ${readerGets.length} reader system GETs, ${logins.length} logins`);
  // At most the read running when the clients left (and one or two that started while the three
  // curls were being cut off) reached the slow part of the BMC; the rest left the queue without
  // a single request. Before the fix: 15 reader GETs and 17 logins, all ahead of the admin.
  assert.ok(readerGets.length <= 3, `abandoned reads reached the BMC: ${JSON.stringify(readerGets)}`);
  assert.ok(logins.length <= 2 + 5, `logins: ${logins.length} (the admin's action makes 2)`);
  assert.equal(logouts.length, logins.length, 'every session the daemon opened was closed, aborted ones too');
  assert.ok(action.seconds < baseline.seconds + 1.5 * READ_DELAY / 1000, `admin held up: ${action.seconds} s vs ${baseline.seconds} s alone`);
});

test('a stampede of tenant and read-only reads costs at most one BMC call per machine per cache window', async () => {
  await new Promise((r) => setTimeout(r, 5200)); // whatever an earlier test cached has expired
  const url = `${API}/api/v1/machines/pr-01/power`;
  const burst = async (n: number) => {
    const codes = await Promise.all([
      curl(['--parallel', '--parallel-immediate', '--parallel-max', '100', '-w', '%{http_code}\n', ...auth(tenant)], Array.from({ length: n }, () => url)),
      curl(['--parallel', '--parallel-immediate', '--parallel-max', '100', '-w', '%{http_code}\n', ...auth(READONLY_TOKEN)], Array.from({ length: n / 2 }, () => url)),
    ]);
    return codes.flat();
  };
  const from = journal().length;
  const first = await burst(100);
  assert.equal(first.length, 150);
  assert.ok(first.every((c) => c === '200'), `answers: ${[...new Set(first)].join(',')}`);
  assert.equal(systemGets(journal().slice(from), ['s1']).length, 1, '150 concurrent readers, one BMC read');

  const again = await burst(100);
  assert.ok(again.every((c) => c === '200'));
  const cached = await apiJson(tenant, 'GET', '/api/v1/machines/pr-01/power');
  assert.equal(cached.body.cached, true);
  assert.equal(cached.body.state, 'off');
  assert.equal(systemGets(journal().slice(from), ['s1']).length, 1, 'within the window the cache answers');

  assert.equal((await apiJson(tenant, 'GET', '/api/v1/machines/pr-01/power?fresh=true')).status, 403, 'a tenant cannot force a BMC read');
  await new Promise((r) => setTimeout(r, 5200));
  await burst(100);
  assert.equal(systemGets(journal().slice(from), ['s1']).length, 2, 'a new window, one more BMC read');
});
