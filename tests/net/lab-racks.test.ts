// Two racks on one PostgreSQL (`rackhand lab up --racks 2`, issue 14): rack-a's daemon serves
// prov0 (node-01), rack-b's serves prov1 (node-02); each is the other's standby. Both machines
// are inspected and deployed; once node-01's agent is writing its image, rack-a's daemon is
// killed with SIGKILL. rack-b must notice rack-a fall silent and take node-01 over: reboot it
// once through its BMC, answer its DHCP from rack-b's secondary listener on prov0 (10.20.0.2),
// serve its agent and image over HTTP from rack-b (port 8081), and see the deploy through. No
// machine ends stuck or failed, node-01's lease is in the database, renewed after the kill, and
// every machine was powered exactly once per boot: no duplicate boot, one takeover reboot.
// Then, rack-a still dead, rack-b's timeout sweep covers rack-a's machines (node-01's release
// is given 5 s and times out), and `lab restart-rack rack-a` brings rack-a back.
// About 3 minutes under TCG on 2 idle cores (5 on a loaded host); the limits below leave room.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { REPO } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';

const run = promisify(execFile);
const MAIN = join(REPO, 'daemon/cli/main.ts');
const built = existsSync(join(REPO, 'boot-images/agent/initrd.img')) && existsSync(join(REPO, 'boot-images/images/lab.raw.gz'));
const tmp = tempDir('lab-racks');
// The lab's PostgreSQL runs as the postgres user in DIR/pg: it must be able to pass through here.
chmodSync(tmp, 0o711);
const dir = join(tmp, 'lab');
const RACK_A = 'http://169.254.210.2:8080';
const RACK_B = 'http://169.254.210.2:8081';
const env = { ...process.env, RACKHAND_URL: RACK_A, RACKHAND_STATE_DIR: join(dir, 'state-rack-a'), RACKHAND_TOKEN: '' };
const started = Date.now();
const since = () => `${Math.round((Date.now() - started) / 1000)} s`;
let passed = false;

async function cli(args: string[], url = RACK_A, timeout = 600_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...env, RACKHAND_URL: url }, cwd: REPO, timeout });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** GET through one rack's daemon; undefined (status kept) when it answers with an error. */
async function api(path: string, base = RACK_B): Promise<any> {
  const token = JSON.parse(readFileSync(join(dir, 'state-rack-a/tokens.json'), 'utf8')).tokens[0].token;
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
  return res.ok ? res.json() : { status: res.status };
}

interface Event { time: string; kind: string; event: string; cause: string; actor: string; to_state?: string }
const events = async (machine: string) => (await api(`/api/v1/events?machine=${machine}&limit=1000`)).events as Event[];
const machine = async (name: string) => (await api(`/api/v1/machines/${name}`)).machine as { state: string; last_error: string | null; operation?: { kind: string; step: string | null; progress?: { bytes?: number } } };

async function db<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ host: join(dir, 'pg'), user: 'rackhand', database: 'rackhand' });
  await c.connect();
  try { return (await c.query(sql, params)).rows as T[]; } finally { await c.end(); }
}

async function waitFor(what: string, check: () => Promise<boolean>, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Fails at once (with its last error) when a machine the test waits for has failed. */
async function deployed(name: string): Promise<boolean> {
  const m = await machine(name);
  assert.notEqual(m.state, 'failed', `${name} failed: ${m.last_error}`);
  return m.state === 'deployed';
}

/** Boots the daemons asked BMCs for: one power-on or power-cycle event each. */
const boots = (es: Event[]) => es.filter((e) => e.kind === 'power' && (e.event === 'on' || e.event === 'cycle'));

before(async () => {
  if (!built) return;
  const up = await cli(['lab', 'up', '--racks', '2', '--machines', '2', '--dir', dir], RACK_A, 180_000);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  assert.match(up.stdout, /lab up: node-01 \(bios, ipmi, rack-a\), node-02 \(bios, ipmi, rack-b\); rack-a's daemon at http:\/\/169\.254\.210\.2:8080, rack-b's daemon at http:\/\/169\.254\.210\.2:8081/);
});

after(async () => {
  if (!built) return;
  // The lab's folder goes with `lab down`: keep what explains a failure (consoles, daemons' logs).
  const keep = passed ? join(tmp, 'logs') : mkdtempSync(join(tmpdir(), 'rackhand-lab-racks-logs-'));
  mkdirSync(keep, { recursive: true });
  const logs = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => join(dir, f)) : [];
  if (existsSync(join(dir, 'pg', 'server.log'))) logs.push(join(dir, 'pg', 'server.log'));
  for (const f of logs) copyFileSync(f, join(keep, f === join(dir, 'pg', 'server.log') ? 'postgresql.log' : f.slice(dir.length + 1)));
  if (!passed) console.log(`# logs kept in ${keep}:\n${readdirSync(keep).map((f) => `#   ${join(keep, f)}`).join('\n')}`);
  const down = await cli(['lab', 'down', '--dir', dir], RACK_A, 60_000);
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stdout, /stopped PostgreSQL/);
  const ns = (await run('ip', ['netns', 'list'])).stdout;
  assert.doesNotMatch(ns, /rackhand-lab/, 'lab down removes the namespace');
});

test('two racks: rack-a\'s daemon is killed mid-deploy, rack-b takes its machine over and both deploy', { skip: !built && 'boot images not built (make boot-images)', timeout: 720_000 }, async () => {
  const status = await cli(['lab', 'status', '--dir', dir]);
  assert.match(status.stdout, /rack-a\s+prov0\s+http:\/\/169\.254\.210\.2:8080\s+running \(\d+\)/);
  assert.match(status.stdout, /rack-b\s+prov1\s+http:\/\/169\.254\.210\.2:8081\s+running \(\d+\)/);
  assert.match(status.stdout, /node-01\s+rack-a\s+bios\s+52:54:00:00:01:01\s+ipmi 127\.0\.0\.1:9001\s+off\s+enrolled/);
  assert.match(status.stdout, /node-02\s+rack-b\s+bios\s+52:54:00:00:01:02\s+ipmi 127\.0\.0\.1:9002\s+off\s+enrolled/);

  // Each machine through its own rack's daemon.
  const inspected = await Promise.all([cli(['inspect', 'node-01', '--wait'], RACK_A), cli(['inspect', 'node-02', '--wait'], RACK_B)]);
  for (const r of inspected) assert.equal(r.code, 0, r.stdout + r.stderr);
  console.log(`# inspected both in ${since()}`);

  assert.equal((await cli(['deploy', 'node-02'], RACK_B)).code, 0);
  assert.equal((await cli(['deploy', 'node-01'], RACK_A)).code, 0);
  await waitFor('node-01\'s agent writing its image', async () => {
    const m = await machine('node-01');
    return m.operation?.kind === 'deploy' && m.operation.step === 'image';
  }, 240);
  const leaseBefore = await db<{ ip: string }>('SELECT ip FROM leases WHERE mac = $1', ['52:54:00:00:01:01']);
  assert.deepEqual(leaseBefore.map((l) => l.ip), ['10.20.0.11'], 'rack-a leased node-01 its address');
  const daemonA = Number(readFileSync(join(dir, 'daemon-rack-a.pid'), 'utf8'));
  const killedAt = Date.now();
  process.kill(daemonA, 'SIGKILL');
  const progress = (await machine('node-01')).operation?.progress?.bytes ?? 0;
  console.log(`# killed rack-a's daemon (${daemonA}) with SIGKILL at ${since()}, node-01's image at ${progress} bytes`);
  const down = await cli(['lab', 'status', '--dir', dir]);
  assert.match(down.stdout, /rack-a\s+prov0\s+\S+\s+down/, 'the supervisor leaves a killed rack daemon down');

  // rack-b hears rack-a fall silent and stands in for it.
  await waitFor('rack-a reported silent, rack-b standing in', async () => {
    const { racks } = await api('/api/v1/racks') as { racks: { name: string; alive: boolean; standing_in_for: string[] }[] };
    const a = racks.find((r) => r.name === 'rack-a');
    const b = racks.find((r) => r.name === 'rack-b');
    return a?.alive === false && b?.alive === true && b.standing_in_for.includes('rack-a');
  }, 60);
  console.log(`# rack-a silent at ${since()}`);

  await waitFor('node-01 deployed through rack-b', () => deployed('node-01'), 420);
  console.log(`# node-01 deployed through rack-b at ${since()}`);
  await waitFor('node-02 deployed', () => deployed('node-02'), 120);

  const console1 = readFileSync(join(dir, 'node-01.console.log'), 'utf8');
  const agentBoots = [...console1.matchAll(/rackhand-agent: eth0 (\S+), daemon (\S+)/g)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(agentBoots, ['10.20.0.11/24 http://10.20.0.1:8080', '10.20.0.11/24 http://10.20.0.1:8080', '10.20.0.11/24 http://10.20.0.2:8081'],
    'node-01: inspect and deploy from rack-a, then the deploy again from rack-b\'s secondary address');
  assert.match(console1.slice(console1.lastIndexOf('rackhand-agent: eth0')), /RACKHAND-LAB-OS: booted from disk: hostname=node-01 [\s\S]*RACKHAND-LAB-OS: phoned home/);
  const console2 = readFileSync(join(dir, 'node-02.console.log'), 'utf8');
  assert.match(console2, /rackhand-agent: eth0 10\.21\.0\.12\/24, daemon http:\/\/10\.21\.0\.1:8081/);
  assert.match(console2, /RACKHAND-LAB-OS: phoned home/);

  // The leases: node-01's renewed after the kill (only rack-b answers prov0 then), both in the database.
  const leases = await db<{ mac: string; ip: string; state: string; expires_at: string; updated_at: string }>('SELECT mac, ip, state, expires_at, updated_at FROM leases ORDER BY mac');
  const lease = (mac: string) => leases.find((l) => l.mac === mac);
  assert.equal(lease('52:54:00:00:01:01')?.ip, '10.20.0.11', 'the same address from rack-b');
  assert.equal(lease('52:54:00:00:01:01')?.state, 'bound');
  assert.ok(Number(lease('52:54:00:00:01:01')!.updated_at) > killedAt, 'node-01\'s lease was renewed after rack-a died');
  assert.ok(Number(lease('52:54:00:00:01:01')!.expires_at) > Date.now());
  assert.equal(lease('52:54:00:00:01:02')?.ip, '10.21.0.12');

  // Once per boot: node-01 inspect, deploy, the takeover reboot; node-02 inspect, deploy.
  const e1 = await events('node-01');
  const e2 = await events('node-02');
  assert.equal(boots(e1).length, 3, `node-01's boots: ${JSON.stringify(boots(e1))}`);
  const takeover = boots(e1).filter((e) => Date.parse(e.time) > killedAt);
  assert.equal(takeover.length, 1, 'one takeover reboot');
  assert.match(takeover[0]!.cause, /^taking over deploy from a silent rack .* by rack rack-b: one-time network boot/);
  assert.ok(boots(e1).slice(0, 2).every((e) => / by rack rack-a: /.test(e.cause)), 'rack-a booted its own machine before it died');
  assert.ok(boots(e2).every((e) => / by rack rack-b: /.test(e.cause)), 'rack-b booted its own machine');
  assert.equal(boots(e2).length, 2, `node-02's boots: ${JSON.stringify(boots(e2))}`);
  for (const [name, es] of [['node-01', e1], ['node-02', e2]] as const) {
    assert.equal(es.filter((e) => e.kind === 'transition' && e.event === 'deployed').length, 1, `${name} deployed once`);
    assert.equal(es.filter((e) => e.event === 'configure_done').length, 1, `${name}: configure ran once`);
    assert.ok(!es.some((e) => e.kind === 'transition' && ['error', 'timeout', 'fail'].includes(e.event)), `${name} never failed`);
  }
  // The durable work: every boot done, none left open, none done twice.
  const work = await db<{ machine: string; kind: string; cause: string; claimed_by: string | null; done_at: Date | null }>('SELECT machine, kind, cause, claimed_by, done_at FROM work ORDER BY id');
  assert.deepEqual(work.filter((w) => !w.done_at), [], 'no work left open');
  const daemons = Object.fromEntries((await db<{ name: string; daemon: string }>('SELECT name, daemon FROM racks')).map((r) => [r.name, r.daemon]));
  const takeovers = work.filter((w) => w.kind === 'takeover');
  assert.deepEqual(takeovers.map((w) => [w.machine, w.cause, w.claimed_by]), [['node-01', daemons['rack-a'], daemons['rack-b']]],
    'one takeover, of rack-a\'s machine from its dead daemon, run by rack-b\'s');
  console.log(`# work: ${work.map((w) => `${w.machine} ${w.kind}${w.cause ? ` (${w.cause})` : ''}`).join(', ')}`);
  const racks = await cli(['racks'], RACK_B);
  console.log(racks.stdout.trimEnd().split('\n').map((l) => `# ${l}`).join('\n'));
  const machines = await cli(['machines'], RACK_B);
  console.log(machines.stdout.trimEnd().split('\n').map((l) => `# ${l}`).join('\n'));

  // Timeouts: while it stands in, rack-b sweeps rack-a's machines too. The lab image profile gets
  // a 5 s limit on releasing (rack-b reloads its inventory), and node-01's release times out.
  // rack-a's daemon is still dead: only rack-b can have failed it.
  const inventory = join(dir, 'inventory.yaml');
  const withLimit = readFileSync(inventory, 'utf8').replace(/^( {4}user_data: cloud-init\/user-data\.j2\n)/m, '$1    timeouts: { releasing: 5 }\n');
  assert.match(withLimit, /timeouts: \{ releasing: 5 \}/);
  writeFileSync(inventory, withLimit);
  const logB = join(dir, 'daemon-rack-b.log');
  const reloads = () => readFileSync(logB, 'utf8').split('inventory reloaded').length;
  const before = reloads();
  process.kill(Number(readFileSync(join(dir, 'daemon-rack-b.pid'), 'utf8')), 'SIGHUP');
  await waitFor('rack-b reloaded its inventory', async () => reloads() > before, 20);
  const releasedAt = Date.now();
  assert.equal((await cli(['release', 'node-01'], RACK_B)).code, 0);
  await waitFor('node-01\'s release timed out', async () => (await machine('node-01')).state === 'failed', 60);
  const timedOut = (await events('node-01')).filter((e) => e.kind === 'transition' && e.event === 'timeout');
  assert.equal(timedOut.length, 1);
  assert.ok(Date.parse(timedOut[0]!.time) > releasedAt + 5000, 'not before its 5 s');
  assert.match((await machine('node-01')).last_error ?? '', /timed out in releasing after 5 s/);
  assert.equal(existsSync(`/proc/${daemonA}`), false, 'rack-a\'s daemon is still dead');
  console.log(`# node-01's release timed out through rack-b's sweep at ${since()}`);

  // rack-a comes back on request (the supervisor left it down) and rack-b stops standing in.
  const restarted = await cli(['lab', 'restart-rack', 'rack-a', '--dir', dir]);
  assert.equal(restarted.code, 0, restarted.stdout + restarted.stderr);
  assert.match(restarted.stdout, /rack-a's daemon is running again \(\d+\)/);
  await waitFor('rack-a heard again, rack-b no longer standing in', async () => {
    const { racks } = await api('/api/v1/racks', RACK_A) as { racks: { name: string; alive: boolean; standing_in_for: string[] }[] };
    return racks.every((r) => r.alive && r.standing_in_for.length === 0);
  }, 30);
  assert.equal((await machine('node-02')).state, 'deployed');
  assert.equal((await machine('node-01')).state, 'failed');
  passed = true;
});
