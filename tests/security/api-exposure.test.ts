// The API, the dashboard (/ui) and /metrics are not served to the provisioning network: a deployed tenant machine on
// it (the attacker, in its own namespace) gets 403 for them on the provisioning address, and also
// when it routes its request to the management address through the daemon's host (Linux answers
// for any of its addresses on any interface). /healthz and the boot routes stay open to it. The
// operator, on the management side, is served; `site.api_on_provisioning: true` opens it up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { twoHostLink, type Link } from '../lib/netns.js';
import { ADMIN_TOKEN, inventoryCopy } from '../lib/daemon.js';
import { serveInNamespace } from '../lib/serve-in-ns.js';

const PORT = 8080;
const MGMT = '192.168.77.1';
let link: Link;
let daemon: ChildProcess;
let inventory = '';

before(async () => {
  link = await twoHostLink({ tag: 'expo', serverAddress: '10.20.0.1', clientAddress: '10.20.0.2' });
  // The management side: another address of the daemon's host, not on the provisioning link.
  await link.server.ip('addr', 'add', `${MGMT}/32`, 'dev', 'lo');
  await link.server.exec('sysctl', ['-qw', 'net.ipv4.conf.all.rp_filter=0']);
  inventory = inventoryCopy();
  daemon = await serveInNamespace(link.server, inventory, { port: PORT });
});

after(async () => {
  daemon?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  await link?.close();
});

/** curl from a namespace: the status code and the body. */
async function get(where: 'attacker' | 'operator', url: string): Promise<{ status: number; body: string }> {
  const ns = where === 'attacker' ? link.client : link.server;
  const out = await ns.exec('curl', ['-sS', '-m', '5', '-H', `authorization: Bearer ${ADMIN_TOKEN}`, '-w', '\n%{http_code}', url]);
  const i = out.lastIndexOf('\n');
  return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
}

// The dashboard's pages, fragments, assets, stream and sign-in: refused before any session exists.
const UI_PATHS = ['/ui/', '/ui/sign-in', '/UI/machines', '/ui/allocations', '/ui/tokens', '/ui/tokens/created', '/ui/overview/health', '/ui/assets/ui.css', '/ui/events/stream'];

test('on the provisioning address: the API, /ui and /metrics are refused, /healthz and /boot are served', async () => {
  for (const path of ['/api/v1/machines', '/API/V1/machines', '/api/v1/tokens', '/metrics', '/METRICS', '/api/v1/nothing', ...UI_PATHS]) {
    const r = await get('attacker', `http://10.20.0.1:${PORT}${path}`);
    assert.equal(r.status, 403, `${path}: ${r.status} ${r.body.slice(0, 200)}`);
    assert.match(JSON.parse(r.body).error.message, /provisioning/, path);
    assert.doesNotMatch(r.body, /node-01|rackhand_/, `${path}: nothing of the API leaks`);
  }
  const signIn = await link.client.exec('curl', ['-sS', '-m', '5', '-o', '/dev/null', '-D', '-', '-d', `token=${ADMIN_TOKEN}`, `http://10.20.0.1:${PORT}/ui/sign-in`]);
  assert.match(signIn, /^HTTP\/1\.1 403/, 'a sign-in with a good token is refused there');
  assert.doesNotMatch(signIn, /set-cookie/i, 'no session is opened');
  assert.equal((await get('attacker', `http://10.20.0.1:${PORT}/healthz`)).status, 200);
  assert.equal((await get('attacker', `http://10.20.0.1:${PORT}/boot/no-such-loader.efi`)).status, 404, 'boot routes are served');
});

test('routed through the host to the management address: still refused to the provisioning network', async () => {
  await link.client.ip('route', 'add', '192.168.77.0/24', 'via', '10.20.0.1');
  assert.equal((await get('attacker', `http://${MGMT}:${PORT}/healthz`)).status, 200, 'the route works');
  const r = await get('attacker', `http://${MGMT}:${PORT}/api/v1/machines`);
  assert.equal(r.status, 403, r.body);
  assert.equal((await get('attacker', `http://${MGMT}:${PORT}/metrics`)).status, 403);
  for (const path of UI_PATHS) assert.equal((await get('attacker', `http://${MGMT}:${PORT}${path}`)).status, 403, path);
});

test('the operator on the management side is served', async () => {
  for (const base of [`http://127.0.0.1:${PORT}`, `http://${MGMT}:${PORT}`]) {
    const r = await get('operator', `${base}/api/v1/machines`);
    assert.equal(r.status, 200, `${base}: ${r.body.slice(0, 200)}`);
    assert.ok(JSON.parse(r.body).machines.length > 0);
    assert.equal((await get('operator', `${base}/metrics`)).status, 200);
    assert.equal((await get('operator', `${base}/ui/sign-in`)).status, 200, `${base}: the dashboard is served`);
  }
});

test('site.api_on_provisioning: true serves it there (applied on reload)', async () => {
  writeFileSync(inventory, readFileSync(inventory, 'utf8').replace(/^site:\n/m, 'site:\n  api_on_provisioning: true\n'));
  daemon.kill('SIGHUP');
  for (let i = 0; i < 50; i++) {
    if ((await get('attacker', `http://10.20.0.1:${PORT}/api/v1/machines`)).status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal((await get('attacker', `http://10.20.0.1:${PORT}/api/v1/machines`)).status, 200);
  assert.equal((await get('attacker', `http://10.20.0.1:${PORT}/metrics`)).status, 200);
  assert.equal((await get('attacker', `http://10.20.0.1:${PORT}/ui/sign-in`)).status, 200);
});
