// GRUB's per-machine config (Secure Boot: grub/MAC.cfg over TFTP) is a boot secret like the iPXE
// script: `rackhand serve` in one namespace, curl as TFTP client in another, with the machine's
// reserved address and a neighbour's. The neighbour asking for the machine's config is refused
// (access violation) and grows nothing; an unknown MAC gets the refusal config; the machine gets
// its config with a boot nonce. A forged or altered nonce buys no agent token and changes nothing;
// the genuine one trades once; a config fetched again replaces the nonce, so an older one is dead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { twoHostLink } from '../lib/netns.js';
import { ADMIN_TOKEN, prepareStateDir, REPO } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';

const MAC = '52:54:00:5b:00:01';
const IP = '10.20.0.21';
const NEIGHBOUR = '10.20.0.22';

test('GRUB config over TFTP: only the machine gets it; a tampered nonce buys nothing', { timeout: 120_000 }, async () => {
  const dir = tempDir('grub-config');
  const state = join(dir, 'state');
  prepareStateDir(state);
  mkdirSync(join(dir, 'images'));
  writeFileSync(join(dir, 'inventory.yaml'), `site:
  interface: prov0
  address: 10.20.0.1
  http_port: 8080
  images_dir: ${join(dir, 'images')}
  dhcp: { mode: full, subnet: 10.20.0.0/24 }
machines:
  - { name: sb-01, mac: "${MAC}", ip: ${IP}, secure_boot: true, power: { driver: manual } }
  - { name: sb-02, mac: "52:54:00:5b:00:02", ip: ${NEIGHBOUR}, power: { driver: manual } }
`);
  const link = await twoHostLink({ tag: 'grubc', serverIf: 'prov0', serverAddress: '10.20.0.1' });
  let daemon: ChildProcess | undefined;
  let log = '';
  try {
    daemon = link.server.spawn(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'serve',
      '--inventory', join(dir, 'inventory.yaml'), '--state-dir', state, '--no-power'], { cwd: REPO });
    await new Promise<void>((resolve, reject) => {
      daemon!.stdout!.on('data', (b: Buffer) => { log += b; if (log.includes('DHCP listening')) resolve(); });
      daemon!.stderr!.on('data', (b: Buffer) => { log += b; });
      daemon!.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${log.slice(-3000)}`)));
    });
    await link.client.ip('addr', 'add', `${IP}/24`, 'dev', 'eth0');
    await link.client.ip('addr', 'add', `${NEIGHBOUR}/24`, 'dev', 'eth0');
    const tftp = (from: string, path: string) => link.client.exec('curl', ['-sS', '-m', '10', '--interface', from, `tftp://10.20.0.1/${path}`])
      .then((body) => ({ ok: true, body }), (err: Error) => ({ ok: false, body: err.message }));
    const http = async (from: string, args: string[]) => {
      const out = await link.client.exec('curl', ['-sS', '-m', '10', '--interface', from, '-w', '\n%{http_code}', ...args]);
      const i = out.lastIndexOf('\n');
      return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
    };
    const api = async (method: string, path: string) => JSON.parse(await link.server.exec('curl', ['-sS', '-X', method, '-H', `authorization: Bearer ${ADMIN_TOKEN}`,
      '-H', 'content-type: application/json', '-d', '{}', `http://127.0.0.1:8080${path}`]));
    const trade = (from: string, nonce: string) => http(from, ['-X', 'POST', '-d', `nonce=${nonce}`, 'http://10.20.0.1:8080/v1/agent/nonce']);

    // Every machine reads the same static config; it names no machine and no secret.
    const staticCfg = await tftp(NEIGHBOUR, 'grub/grub.cfg');
    assert.ok(staticCfg.ok);
    assert.match(staticCfg.body, /source "\$\{prefix\}\/\$\{net_default_mac\}\.cfg"/);

    // Ready machine (enrolled, no operation): local boot, no nonce.
    assert.match((await tftp(IP, `grub/${MAC}.cfg`)).body, /\nexit 1\n$/);
    assert.equal((await api('POST', '/api/v1/machines/sb-01/actions/inspect')).machine.state, 'inspecting');

    // The neighbour asks for sb-01's config: refused (curl 69: TFTP access violation), no nonce minted.
    const stolen = await tftp(NEIGHBOUR, `grub/${MAC}.cfg`);
    assert.equal(stolen.ok, false);
    assert.match(stolen.body, /\(69\)/, stolen.body);
    // An unknown MAC: the refusal config, and nothing grows.
    const unknown = await tftp(NEIGHBOUR, 'grub/52:54:00:5b:00:99.cfg');
    assert.match(unknown.body, /not a machine Rackhand manages.*\nsleep 5\nexit 1\n$/s);

    // The machine's own: the agent with a nonce.
    const first = await tftp(IP, `grub/${MAC}.cfg`);
    assert.match(first.body, /^linux \(tftp,10\.20\.0\.1\)\/agent\/vmlinuz rackhand\.url=http:\/\/10\.20\.0\.1:8080 rackhand\.nonce=[\w-]{16,}/m, first.body);
    const old = /rackhand\.nonce=([\w-]+)/.exec(first.body)![1]!;
    const cfg = await tftp(IP, `grub/${MAC}.cfg`);
    const nonce = /rackhand\.nonce=([\w-]+)/.exec(cfg.body)![1]!;
    assert.notEqual(nonce, old, 'each config carries a fresh nonce');

    // Forged and altered nonces, from the machine's own address: 403, no token, no state change.
    const flipped = nonce.slice(0, 5) + (nonce[5] === 'x' ? 'y' : 'x') + nonce.slice(6);
    for (const bad of [flipped, nonce + 'A', nonce.slice(0, -1), 'A'.repeat(nonce.length), old]) {
      const r = await trade(IP, bad);
      assert.equal(r.status, 403, `${bad}: ${r.body}`);
      assert.doesNotMatch(r.body, /token/i);
    }
    // The genuine nonce from the neighbour's address: refused too.
    assert.equal((await trade(NEIGHBOUR, nonce)).status, 403);
    let m = (await api('GET', '/api/v1/machines/sb-01')).machine;
    assert.equal(m.state, 'inspecting');
    let events = (await api('GET', '/api/v1/events?machine=sb-01')).events.map((e: { event: string }) => e.event);
    assert.ok(!events.includes('nonce_traded'), events.join(' '));

    // The genuine one, from the machine: traded once; a replay is refused.
    const good = await trade(IP, nonce);
    assert.equal(good.status, 200, good.body);
    assert.equal((await trade(IP, nonce)).status, 403, 'one trade only');
    m = (await api('GET', '/api/v1/machines/sb-01')).machine;
    assert.equal(m.state, 'inspecting');
    events = (await api('GET', '/api/v1/events?machine=sb-01')).events.map((e: { event: string }) => e.event);
    assert.equal(events.filter((e: string) => e === 'nonce_traded').length, 1);
    // The refusals were recorded (aggregated), the nonce never in them.
    const all = JSON.stringify((await api('GET', '/api/v1/events')).events);
    assert.match(all, /not sb-01's address/);
    assert.ok(!all.includes(nonce) && !all.includes(old), 'no nonce in the events');
  } finally {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon!.once('exit', r));
    }
    await link.close();
  }
});
