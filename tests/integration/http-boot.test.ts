import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { inventoryCopy, startTestDaemon, type TestDaemon } from '../lib/daemon.js';
import { refusalLog } from '../../daemon/http/boot-token.js';
import { agentNext, agentReport, agentToken, dhcpGave, nonceIn, operationToken, script, tradeNonce } from '../lib/boot.js';

const run = promisify(execFile);
let d: TestDaemon;
let image: Buffer;
let imageSha = '';

before(async () => {
  const inv = inventoryCopy();
  const images = join(dirname(inv), 'boot-images', 'images');
  mkdirSync(images, { recursive: true });
  image = randomBytes(64 << 20);
  imageSha = createHash('sha256').update(image).digest('hex');
  writeFileSync(join(images, 'test.raw'), image);
  writeFileSync(join(images, 'test.raw.digest'), `${imageSha}  test.raw\n`);
  writeFileSync(inv, readFileSync(inv, 'utf8')
    .replace('url: images/lab.raw.gz', 'url: images/test.raw')
    .replace(/sha256_file: \S+/, 'sha256_file: images/test.raw.digest'));
  d = await startTestDaemon({ inventoryFile: inv });
  // The machines' DHCP exchanges came from loopback: boot secrets go to 127.0.0.1.
  for (const mac of ['52:54:00:00:01:01', '52:54:00:00:01:02']) await dhcpGave(d, mac);
});
after(async () => { await d.close(); });

const api = async (path: string, body?: object) => {
  const res = await fetch(d.url + path, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${d.tokens.admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return res.json() as Promise<Record<string, any>>;
};
const get = async (path: string) => { const r = await fetch(d.url + path); return { status: r.status, text: await r.text() }; };
const report = (token: string, fields: Record<string, string>) => agentReport(d, token, fields);
const next = async (token: string) => (await agentNext(d, token)).text;
/** The agent's view: shell assignments parsed back into an object. */
const vars = (text: string) => Object.fromEntries(text.trim().split('\n').map((l) => {
  const m = /^([a-z_0-9]+)='(.*)'$/.exec(l);
  assert.ok(m, `not a shell assignment: ${l}`);
  return [m[1], m[2]!.replace(/'\\''/g, "'")];
}));
const tokenOf = (mac: string) => agentToken(d, mac);
const FACTS = JSON.stringify({ cpus: 2, memory_mib: 512, arch: 'x86_64', disks: [{ name: 'vda', size_bytes: 2147483648, serial: 'D1' }], nics: [{ name: 'eth0', mac: '52:54:00:00:01:01', link: true }], dmi: { vendor: 'QEMU', product: 'Standard PC', serial: 'S1' } });

test('images: HEAD, Range and If-Range on a 64 MiB file, checked with curl; sha256 published beside it', async () => {
  const url = `${d.url}/boot/images/test.raw`;
  const head = (await run('curl', ['-sSI', url])).stdout;
  assert.match(head, /^HTTP\/1\.1 200/);
  assert.match(head, /content-length: 67108864/i);
  assert.match(head, /accept-ranges: bytes/i);
  const part = await run('curl', ['-sS', '-r', '1000000-1999999', url], { encoding: 'buffer', maxBuffer: 4 << 20 });
  assert.ok(Buffer.compare(part.stdout as unknown as Buffer, image.subarray(1000000, 2000000)) === 0, 'the range is the file slice');
  const partial = (await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', '-r', '-4096', url])).stdout;
  assert.equal(partial, '206 4096');
  const stale = (await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', '-r', '0-9', '-H', 'If-Range: "stale-etag"', url])).stdout;
  assert.equal(stale, '200 67108864', 'If-Range with another validator sends the whole file');
  const whole = await run('curl', ['-sS', url], { encoding: 'buffer', maxBuffer: 80 << 20 });
  assert.equal(createHash('sha256').update(whole.stdout as unknown as Buffer).digest('hex'), imageSha);
  assert.equal((await get('/boot/images/test.raw.sha256')).text, `${imageSha}  test.raw\n`);
  assert.equal((await get('/boot/../inventory.yaml')).status, 404);
  assert.equal((await get('/boot/images/%2e%2e/%2e%2e/inventory.yaml')).status, 404);
});

test('inspect through the agent API: nonce traded once, facts stored, machine ready, token dead afterwards', async () => {
  assert.equal((await api('/api/v1/machines/node-01/actions/inspect', {})).machine.state, 'inspecting');
  const text = await script(d, '52:54:00:00:01:01');
  assert.doesNotMatch(text, /rackhand\.token=/, 'no operation token on the kernel command line');
  const nonce = nonceIn(text)!;
  const traded = await tradeNonce(d, nonce);
  assert.equal(traded.status, 200);
  const token = /^agent_token='([^']+)'$/m.exec(await traded.text())![1]!;
  assert.equal((await tradeNonce(d, nonce)).status, 403, 'a nonce trades once');
  const events0 = (await api('/api/v1/events?machine=node-01&limit=20')).events as { event: string; cause: string }[];
  assert.ok(events0.some((e) => e.event === 'refused' && /already traded/.test(e.cause)), 'the replay is recorded');
  assert.equal((await fetch(`${d.url}/v1/agent/next`)).status, 403, 'no header, no answer');
  assert.deepEqual(vars(await next(token)), { step: 'inspect', machine: 'node-01', operation: 'inspect' });
  const bad = await report(token, { step: 'inspect', status: 'done', facts: '{"cpus": "many"}' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /body\.facts\.cpus/);
  const done = await report(token, { step: 'inspect', status: 'done', facts: FACTS });
  assert.equal(done.status, 200, done.text);
  assert.equal(vars(done.text).step, 'poweroff');
  const m = (await api('/api/v1/machines/node-01')).machine;
  assert.equal(m.state, 'ready');
  assert.equal(m.facts.memory_mib, 512);
  assert.equal((await report(token, { step: 'inspect', status: 'done', facts: FACTS })).status, 403, 'a finished operation takes no reports');
  assert.equal((await agentNext(d, token)).status, 403, 'the agent token died with its operation');
  assert.match((await get('/boot/52:54:00:00:01:01.ipxe')).text, /^exit 1$/m, 'ready machines boot from disk');
  assert.equal((await get('/boot/52%3A54%3A00%3A00%3A01%3A01.ipxe')).text, (await get('/boot/52:54:00:00:01:01.ipxe')).text, 'iPXE encodes the colons');
});

test('wrong and stale tokens get 403 and an event; one machine\'s token never reads another\'s data', async () => {
  assert.equal((await get('/v1/nocloud/not-a-real-token-at-all/user-data')).status, 403);
  // 127.0.0.1 was refused before (the replay above): this one is counted into its minute's event.
  refusalLog(d.daemon.store).flush();
  await new Promise((r) => setTimeout(r, 50));
  const events = (await api('/api/v1/events?limit=5')).events as { event: string; cause: string }[];
  assert.ok(events.some((e) => e.event === 'refused' && /unknown token/.test(e.cause)), JSON.stringify(events));
  assert.ok(!JSON.stringify(events).includes('not-a-real-token-at-all'), 'tokens are not written to events');
  await api('/api/v1/machines/node-02/actions/inspect', {});
  const b = await operationToken(d, 'node-02');
  const userData = (await get(`/v1/nocloud/${b}/user-data`)).text;
  assert.match(userData, /^hostname: "node-02"$/m);
  assert.doesNotMatch(userData, /node-01/);
  await api('/api/v1/machines/node-02/actions/fail', { reason: 'test' });
  assert.equal((await get(`/v1/nocloud/${b}/meta-data`)).status, 403, 'the token of a failed operation is stale');
});

test('deploy: image, configure, reboot into the disk, phone home → deployed; NoCloud parses as YAML', async () => {
  await api('/api/v1/machines/node-01/actions/deploy', {});
  const op = await operationToken(d, 'node-01');
  const token = (await tokenOf('52:54:00:00:01:01'))!;
  const step1 = vars(await next(token));
  assert.deepEqual(step1, { step: 'image', machine: 'node-01', operation: 'deploy', image_url: `http://10.20.0.1:8080/boot/images/test.raw`, image_sha256: imageSha, image_compression: 'none' });
  await report(token, { step: 'image', status: 'progress', bytes: '1048576', total: '67108864' });
  const step2 = vars((await report(token, { step: 'image', status: 'done' })).text);
  assert.equal(step2.step, 'configure');
  assert.equal(step2.seed_url, `http://10.20.0.1:8080/v1/nocloud/${op}/`);
  const seed = step2.seed_url!.replace('http://10.20.0.1:8080', d.url);
  const meta = parseYaml((await get(seed.replace(d.url, '') + 'meta-data')).text);
  assert.deepEqual(Object.keys(meta), ['instance-id', 'local-hostname']);
  assert.equal(meta['local-hostname'], 'node-01');
  const user = parseYaml((await get(seed.replace(d.url, '') + 'user-data')).text);
  assert.equal(user.hostname, 'node-01');
  assert.equal(user.phone_home.url, `http://10.20.0.1:8080/v1/phone-home/${op}`);
  const net = parseYaml((await get(seed.replace(d.url, '') + 'network-config')).text);
  assert.deepEqual(net.ethernets.prov, { match: { macaddress: '52:54:00:00:01:01' }, dhcp4: false, addresses: ['10.20.0.11/24'], routes: [{ to: '0.0.0.0/0', via: '10.20.0.1' }], nameservers: { addresses: ['10.20.0.1'] } });
  assert.equal((await get(seed.replace(d.url, '') + 'vendor-data')).status, 200);
  assert.equal(vars((await report(token, { step: 'configure', status: 'done' })).text).step, 'reboot');
  assert.equal(vars((await report(token, { step: 'configure', status: 'done' })).text).step, 'reboot', 'a repeated report is harmless');
  assert.match((await get('/boot/52:54:00:00:01:01.ipxe')).text, /image is written, booting it from disk\nexit 1\n$/);
  // cloud-init's phone_home module (post: all): a form with every field, "N/A" for missing keys.
  const phoneHome = (instanceId: string) => fetch(`${d.url}/v1/phone-home/${op}`, {
    method: 'POST',
    body: new URLSearchParams({
      pub_key_dsa: 'N/A', pub_key_rsa: 'N/A', pub_key_ecdsa: 'ecdsa-sha2-nistp256 AAAA root@node-01\n',
      pub_key_ed25519: 'ssh-ed25519 AAAA root@node-01\n', instance_id: instanceId, hostname: 'node-01', fqdn: 'node-01',
    }),
  });
  const stale = await phoneHome('an-earlier-instance');
  assert.equal(stale.status, 409, 'another instance id is not this deployment phoning home');
  assert.equal((await api('/api/v1/machines/node-01')).machine.state, 'deploying');
  const phone = await phoneHome(meta['instance-id']);
  assert.equal(phone.status, 200);
  const m = (await api('/api/v1/machines/node-01')).machine;
  assert.equal(m.state, 'deployed');
  const deployed = (await api('/api/v1/events?machine=node-01&limit=1000')).events.find((e: { event: string }) => e.event === 'deployed');
  assert.match(deployed.cause, /^phoned home from 127\.0\.0\.1 \(posted instance_id, hostname, fqdn, pub_key_rsa, pub_key_ecdsa, pub_key_ed25519, pub_key_dsa\)$/);
  assert.equal(parseYaml((await get(seed.replace(d.url, '') + 'meta-data')).text)['instance-id'], meta['instance-id'], 'a deployed system may re-read its metadata');
});

test('release erases and returns to ready; with auto_redeploy it redeploys with a new instance-id', async () => {
  await api('/api/v1/machines/node-01/actions/release', {});
  const erase = (await tokenOf('52:54:00:00:01:01'))!;
  assert.deepEqual(vars(await next(erase)), { step: 'erase', machine: 'node-01', operation: 'erase', erase_mode: 'secure' });
  assert.equal(vars((await report(erase, { step: 'erase', status: 'done' })).text).step, 'poweroff');
  assert.equal((await api('/api/v1/machines/node-01')).machine.state, 'ready');

  writeFileSync(d.inventoryFile, readFileSync(d.inventoryFile, 'utf8').replace('discovery: false', 'discovery: false\n  auto_redeploy: true'));
  await d.daemon.reload();
  await api('/api/v1/machines/node-01/actions/deploy', {});
  const firstOp = await operationToken(d, 'node-01');
  const first = (await tokenOf('52:54:00:00:01:01'))!;
  const firstId = parseYaml((await get(`/v1/nocloud/${firstOp}/meta-data`)).text)['instance-id'];
  await report(first, { step: 'image', status: 'done' });
  await report(first, { step: 'configure', status: 'done' });
  await fetch(`${d.url}/v1/phone-home/${firstOp}`);
  await api('/api/v1/machines/node-01/actions/release', {});
  const erase2 = (await tokenOf('52:54:00:00:01:01'))!;
  assert.equal(vars((await report(erase2, { step: 'erase', status: 'done' })).text).step, 'reboot', 'new work: reboot into it');
  assert.equal((await api('/api/v1/machines/node-01')).machine.state, 'deploying');
  const second = await operationToken(d, 'node-01');
  assert.notEqual(second, firstOp);
  assert.notEqual(parseYaml((await get(`/v1/nocloud/${second}/meta-data`)).text)['instance-id'], firstId);
});

test('an agent reporting failure sends the machine to failed with the reason', async () => {
  const token = (await tokenOf('52:54:00:00:01:01'))!;
  await report(token, { step: 'image', status: 'failed', message: 'sha256 mismatch: wrote 0f…, expected ' + imageSha.slice(0, 8) });
  const m = (await api('/api/v1/machines/node-01')).machine;
  assert.equal(m.state, 'failed');
  assert.match(m.last_error, /^image failed: sha256 mismatch/);
  assert.equal(m.previous_state, 'deploying');
});

test('an unknown MAC gets the refuse script and changes nothing, discovery on or off', async () => {
  const mac = '52:54:00:aa:bb:cc';
  const before = (await api('/api/v1/events?limit=10000')).events.length;
  assert.match((await get(`/boot/${mac}.ipxe`)).text, /is not a machine Rackhand manages \(machines enrol through DHCP\)\nsleep 5\nexit 1\n$/);
  writeFileSync(d.inventoryFile, readFileSync(d.inventoryFile, 'utf8').replace('discovery: false', 'discovery: true'));
  await d.daemon.reload();
  for (let i = 0; i < 20; i++) assert.match((await get(`/boot/52:54:00:aa:bb:${(i + 16).toString(16)}.ipxe`)).text, /not a machine Rackhand manages/);
  assert.equal((await fetch(`${d.url}/api/v1/machines/discovered-525400aabbcc`, { headers: { authorization: `Bearer ${d.tokens.admin}` } })).status, 404);
  assert.equal((await api('/api/v1/events?limit=10000')).events.length, before, 'no rows from HTTP requests for unknown MACs');
});
