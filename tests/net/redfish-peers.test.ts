// Rackhand's Redfish driver, and `rackhand power` through a running daemon, against Redfish
// services nobody on this project wrote (../shared/peers, see tests/lib/redfish-peers.ts for how
// each behaves): OpenStack sushy-tools' emulator (fake driver; without auth, with an htpasswd
// file, two systems selected by id and by name), its static mockup server, and DMTF's
// Redfish-Mockup-Server with the public-rackmount1 mockup. Requests are counted from each
// service's own request log, so "one reset" is what the service saw.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { startMockupServer, startSushyEmulator, startSushyStatic, type RedfishPeer } from '../lib/redfish-peers.js';
import { inventoryCopy, REPO } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';
import { CLI_MAIN as MAIN, runCli } from '../lib/cli.js';
import { RedfishDriver, type RedfishConfig } from '../../daemon/power/redfish.js';
import { RedfishSessions } from '../../daemon/power/redfish-session.js';
import { ManagedPower } from '../../daemon/power/managed.js';
import { KeyedQueue } from '../../daemon/power/queue.js';
import type { PowerError } from '../../daemon/power/errors.js';

const PASSWORD = 'Sushy-Pa55-41c9';
const env = { PEER_PW: PASSWORD, PEER_WRONG: 'Wrong-Pa55-0000' };
const A = { uuid: '8d1b6f2e-5c1a-4e0b-9a57-0c3f5a2b7e11', name: 'rack1-a' };
const B = { uuid: '2f9c4d71-33e8-4b6a-8d02-5e7a1c9b4f22', name: 'rack1-b' };
const MOCKUP_SYSTEM = '437XR1138R2';

let open: RedfishPeer;   // sushy emulator, no auth, two systems
let authed: RedfishPeer; // sushy emulator, htpasswd, HTTPS
let stat: RedfishPeer;   // sushy static
let mockup: RedfishPeer; // DMTF mockup server, public-rackmount1

before(async () => {
  [open, authed, stat, mockup] = await Promise.all([
    startSushyEmulator({ systems: [{ ...A, power_state: 'Off' }, { ...B, power_state: 'Off' }] }),
    startSushyEmulator({ systems: [{ ...A, power_state: 'Off' }], auth: { username: 'admin', password: PASSWORD }, tls: true }),
    startSushyStatic(),
    startMockupServer(),
  ]);
});

after(async () => { await Promise.all([open, authed, stat, mockup].map((p) => p?.close())); });

/** Requests the service logged ("METHOD PATH HTTP/1.x" STATUS) with that method and a matching path. */
function logged(peer: RedfishPeer, method: string, path: RegExp): { path: string; status: number }[] {
  return readFileSync(peer.logFile, 'utf8').split('\n').flatMap((l) => {
    const m = /"([A-Z]+) (\S+) HTTP\/1\.[01]" (\d{3})/.exec(l);
    return m !== null && m[1] === method && path.test(m[2]!) ? [{ path: m[2]!, status: Number(m[3]) }] : [];
  });
}
const resets = (peer: RedfishPeer) => logged(peer, 'POST', /\/Actions\/ComputerSystem\.Reset$/).length;
const logins = (peer: RedfishPeer) => logged(peer, 'POST', /\/SessionService\/Sessions\/?$/).length;

function managed(peer: RedfishPeer, over: Partial<RedfishConfig>, sessions = new RedfishSessions(), poll = { interval: 250, timeout: 30_000 }) {
  const driver = new RedfishDriver({ machine: 'peer-node', address: peer.url, username: 'admin', password_env: 'PEER_PW', ...over }, { env, sessions });
  return new ManagedPower(driver, { machine: 'peer-node', queue: new KeyedQueue(), poll });
}

test('sushy-tools, no auth, system by id: off → one-time PXE → on → cycle → off, one reset per change', async () => {
  const p = managed(open, { system: A.uuid });
  assert.equal(await p.status(), 'off');
  await p.setBootDevice({ device: 'pxe', mode: 'uefi', persistent: false });
  const before = resets(open);
  assert.equal(await p.on(), 'on');
  assert.equal(resets(open) - before, 1);
  assert.equal(await p.cycle(), 'on');
  assert.equal(resets(open) - before, 2, 'one reset for the cycle (PowerCycle refused with 501 would be a second POST: it is not listed, so ForceRestart is sent)');
  assert.equal(await p.off(), 'off');
  assert.equal(resets(open) - before, 3);
  // No session service listed: auto went straight to basic, no login attempted.
  assert.equal(logins(open), 0);
});

test('sushy-tools: a system by its name is followed through the 307; two systems and none named → a CONFIG error naming both', async () => {
  const p = managed(open, { system: B.name });
  assert.equal(await p.status(), 'off');
  await p.setBootDevice({ device: 'pxe', persistent: false });
  assert.deepEqual(logged(open, 'GET', new RegExp(`/Systems/${B.name}$`)).map((r) => r.status), [307], 'the 307 was met once');
  // Where it answered is remembered: the override and later reads go there directly.
  assert.deepEqual(logged(open, 'PATCH', /\/Systems\//).filter((r) => r.path.includes(B.uuid) || r.path.includes(B.name)).map((r) => r.path), [`/redfish/v1/Systems/${B.uuid}`]);
  const err = await managed(open, {}).status().then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);
  assert.equal(err.code, 'CONFIG');
  assert.match(err.message, /lists 2 systems \(.+\): set power\.system to one of them/);
  for (const id of [A.uuid, B.uuid]) assert.ok(err.message.includes(`/redfish/v1/Systems/${id}`), id);
});

test('sushy-tools with an htpasswd file over HTTPS: auth auto uses basic (its service root lists no sessions); a wrong password is AUTH_FAILED, asked once', async () => {
  const p = managed(authed, { system: A.uuid, ca_file: authed.caFile });
  assert.equal(await p.status(), 'off');
  await p.setBootDevice({ device: 'pxe', persistent: false });
  assert.equal(await p.on(), 'on');
  assert.equal(await p.off(), 'off');
  assert.equal(resets(authed), 2);
  assert.equal(logins(authed), 0, 'no login tried: the service root lists no session service');
  const refusedBefore = logged(authed, 'GET', /./).filter((r) => r.status === 401).length;
  const err = await managed(authed, { system: A.uuid, ca_file: authed.caFile, password_env: 'PEER_WRONG' }).status().then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);
  assert.equal(err.code, 'AUTH_FAILED');
  assert.match(err.message, new RegExp(`GET 127\\.0\\.0\\.1:${authed.port}/redfish/v1/Systems/${A.uuid}: HTTP 401`));
  assert.equal(logged(authed, 'GET', /./).filter((r) => r.status === 401).length - refusedBefore, 1, 'a wrong password is sent once, not retried');
});

test('DMTF mockup server (public-rackmount1): one session for every call; the override PATCHed and read back; one reset per change', async () => {
  const sessions = new RedfishSessions();
  const p = managed(mockup, { system: MOCKUP_SYSTEM }, sessions, { interval: 250, timeout: 2_000 });
  assert.equal(await p.status(), 'on');
  await p.setBootDevice({ device: 'pxe', mode: 'uefi', persistent: false });
  assert.equal(await p.cycle(), 'on');
  assert.equal(resets(mockup), 1);
  // The mockup accepts every Reset and changes nothing: off is sent once, then the state decides.
  const err = await p.off().then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);
  assert.equal(err.code, 'TIMEOUT');
  assert.match(err.message, /asked for off, still on after 2000 ms/);
  assert.equal(resets(mockup), 2, 'ForceOff was not sent again');
  assert.equal(logins(mockup), 1, 'one session for status, boot override, cycle, off and every poll');
  await sessions.closeAll();
  assert.equal(logged(mockup, 'DELETE', /\/SessionService\/Sessions\//).length, 1, 'logged out once');
  assert.equal(logged(mockup, 'PATCH', /./).length, 1);
  const sys = JSON.parse(await (await fetch(`${mockup.url}/redfish/v1/Systems/${MOCKUP_SYSTEM}`)).text()) as { Boot: Record<string, string> };
  assert.equal(sys.Boot.BootSourceOverrideTarget, 'Pxe');
  assert.equal(sys.Boot.BootSourceOverrideMode, 'UEFI');
});

test('sushy-tools static mockup: status works; its PATCH stores nothing, so the override is a clear error, not a silent success', async () => {
  const p = managed(stat, { system: MOCKUP_SYSTEM });
  assert.equal(await p.status(), 'on');
  // Its Boot reads Pxe/Once already: ask for the disk, which it cannot store.
  const err = await p.setBootDevice({ device: 'disk', persistent: false }).then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);
  assert.equal(err.code, 'BMC_ERROR');
  assert.match(err.message, new RegExp(`PATCH 127\\.0\\.0\\.1:${stat.port}/redfish/v1/Systems/${MOCKUP_SYSTEM} was accepted but not stored`));
  assert.equal(logged(stat, 'PATCH', /./).length, 2, 'sent once more after the first read-back, then given up');
});

// ---- the same through the daemon and its CLI -------------------------------------------------

const cli = runCli;

test('rackhand power M status|on|off|cycle --boot pxe through the daemon, against sushy-tools (by id and by name) and the DMTF mockup', async () => {
  const inventoryFile = inventoryCopy();
  const machine = (name: string, mac: string, peer: RedfishPeer, system: string) => `  - name: ${name}
    mac: ${mac}
    power: { driver: redfish, address: "${peer.url}", username: admin, password_env: PEER_PW, system: "${system}" }
`;
  const text = readFileSync(inventoryFile, 'utf8');
  writeFileSync(inventoryFile, `${text.slice(0, text.indexOf('\nmachines:'))}\nmachines:\n${machine('sushy-a', '52:54:00:00:0a:01', open, A.uuid)}${machine('sushy-b', '52:54:00:00:0a:02', open, B.name)}${machine('dmtf-1', '52:54:00:00:0a:03', mockup, MOCKUP_SYSTEM)}`);
  const validate = await cli(['validate', inventoryFile], {});
  assert.equal(validate.code, 0, validate.stderr);
  assert.match(validate.stderr, /machines\[0\]\.power\.address: warning: plain http:\/\//);

  const stateDir = tempDir('peers-state');
  let log = '';
  const serve: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--inventory', inventoryFile, '--state-dir', stateDir, '--listen', '127.0.0.1', '--port', '0', '--http-only', '--no-power'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd: REPO });
  serve.stderr!.on('data', (d: Buffer) => { log += d; });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      serve.stdout!.on('data', (d: Buffer) => { log += d; const m = /HTTP listening on 127\.0\.0\.1:(\d+)/.exec(log); if (m) resolve(`http://127.0.0.1:${m[1]}`); });
      serve.on('exit', (code) => reject(new Error(`serve exited ${code}: ${log}`)));
    });
    const e = { RACKHAND_URL: url, RACKHAND_STATE_DIR: stateDir, RACKHAND_TOKEN: '' };
    const power = async (m: string, ...args: string[]) => {
      const r = await cli(['power', m, ...args, '--json'], e);
      assert.equal(r.code, 0, `power ${m} ${args.join(' ')}: ${r.stderr}${r.stdout}`);
      return (JSON.parse(r.stdout) as { state: string }).state;
    };
    const resetsBefore = resets(open);
    const loginsBefore = logins(mockup);
    let changes = 0;
    for (const m of ['sushy-a', 'sushy-b']) {
      const first = await power(m, 'status');
      if (first === 'on') { assert.equal(await power(m, 'off'), 'off'); changes++; }
      changes += 3;
      assert.equal(await power(m, 'on', '--boot', 'pxe'), 'on');
      assert.equal(await power(m, 'cycle', '--boot', 'pxe'), 'on');
      assert.equal(await power(m, 'off'), 'off');
      assert.equal(await power(m, 'status'), 'off');
    }
    assert.equal(resets(open) - resetsBefore, changes, 'one reset per change');
    assert.equal(await power('dmtf-1', 'status'), 'on');
    assert.equal(await power('dmtf-1', 'cycle', '--boot', 'pxe'), 'on');
    assert.equal(logins(mockup) - loginsBefore, 1, 'the daemon holds one session for the DMTF service across CLI calls');
    const bad = await cli(['power', 'dmtf-1', 'cycle', '--boot', 'floppy'], e);
    assert.equal(bad.code, 2);
  } finally {
    if (serve.exitCode === null && serve.signalCode === null) {
      const gone = new Promise((r) => serve.once('exit', r));
      serve.kill('SIGTERM');
      await gone;
    }
  }
  assert.ok(logged(mockup, 'DELETE', /\/SessionService\/Sessions\//).length >= 1, 'the daemon logged out when it stopped');
});
