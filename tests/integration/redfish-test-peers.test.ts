// Self-test of the Redfish test peers, with plain HTTP requests (not the Rackhand driver): the
// third-party services start, answer and stop leaving no process behind, and the faulty BMC's
// faults behave as documented in tests/lib/faulty-bmc*.ts.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSushyEmulator, startSushyStatic, startMockupServer, type RedfishPeer } from '../lib/redfish-peers.js';
import { startFaultyBmc, type FaultyBmc, type FaultyBmcOptions } from '../lib/faulty-bmc.js';
import { peerRequest, type PeerRequest } from '../lib/http-request.js';
import { waitFor } from '../fixtures/power/helpers.js';

const opened: { close(): Promise<void> }[] = [];
after(async () => { await Promise.all(opened.map((o) => o.close())); });

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function stopAndCheckGone(peer: RedfishPeer): Promise<void> {
  await peer.close();
  assert.equal(alive(peer.pid), false, `pid ${peer.pid} still runs after close()`);
}

describe('third-party Redfish peers', () => {
  const UUID = '5a9ee1b4-6c3f-4c0e-8a51-0d7f2b9e3c01';

  test('sushy emulator, Basic auth and TLS: root open, the rest needs Basic, by name 307, no sessions', async () => {
    const auth = { username: 'admin', password: 'p@ss:word' };
    const peer = await startSushyEmulator({ systems: [{ uuid: UUID, name: 'node-a', power_state: 'On', nics: [{ mac: '52:54:00:00:00:01' }] }], auth, tls: true });
    opened.push(peer);
    assert.match(peer.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const get = (path: string, o: PeerRequest = {}) => peerRequest(`${peer.url}${path}`, { caFile: peer.caFile!, ...o });
    const rootDoc = await get('/redfish/v1/');
    assert.equal(rootDoc.status, 200);
    assert.equal(rootDoc.json.Links?.Sessions, undefined);
    const open = await get('/redfish/v1/Systems');
    assert.equal(open.status, 401);
    assert.match(String(open.headers['www-authenticate']), /^Basic/);
    const list = await get('/redfish/v1/Systems', { auth });
    assert.deepEqual(list.json.Members, [{ '@odata.id': `/redfish/v1/Systems/${UUID}` }]);
    const sys = await get(`/redfish/v1/Systems/${UUID}`, { auth });
    assert.equal(sys.json.PowerState, 'On');
    assert.equal(sys.headers.etag, undefined);
    const byName = await get('/redfish/v1/Systems/node-a', { auth });
    assert.equal(byName.status, 307);
    assert.equal(byName.headers.location, `/redfish/v1/Systems/${UUID}`);
    const login = await get('/redfish/v1/SessionService/Sessions', { method: 'POST', body: { UserName: auth.username, Password: auth.password } });
    assert.equal(login.status, 401);
    const loginBasic = await get('/redfish/v1/SessionService/Sessions', { method: 'POST', auth, body: { UserName: auth.username, Password: auth.password } });
    assert.equal(loginBasic.status, 404);
    await stopAndCheckGone(peer);
  });

  test('sushy static serves public-rackmount1; POST answers 204 with no token', async () => {
    const peer = await startSushyStatic();
    opened.push(peer);
    const sys = await peerRequest(`${peer.url}/redfish/v1/Systems/437XR1138R2`);
    assert.equal(sys.json.Name, 'WebFrontEnd483');
    const login = await peerRequest(`${peer.url}/redfish/v1/SessionService/Sessions`, { method: 'POST', body: { UserName: 'a', Password: 'b' } });
    assert.equal(login.status, 204);
    assert.equal(login.headers['x-auth-token'], undefined);
    await stopAndCheckGone(peer);
  });

  test('DMTF mockup server (TLS): sessions with a token, system 437XR1138R2', async () => {
    const peer = await startMockupServer({ tls: true });
    opened.push(peer);
    const get = (path: string, o: PeerRequest = {}) => peerRequest(`${peer.url}${path}`, { caFile: peer.caFile!, ...o });
    assert.deepEqual((await get('/redfish/v1/Systems')).json.Members, [{ '@odata.id': '/redfish/v1/Systems/437XR1138R2' }]);
    const login = await get('/redfish/v1/SessionService/Sessions', { method: 'POST', body: { UserName: 'a', Password: 'b' } });
    assert.equal(login.status, 204);
    assert.equal(login.headers['x-auth-token'], '1234567890ABCDEF');
    assert.match(String(login.headers.location), /^\/redfish\/v1\/SessionService\/Sessions\/1234567890ABCDEF\d+$/);
    await stopAndCheckGone(peer);
  });
});

describe('faulty BMC', () => {
  async function bmcWith(opts: FaultyBmcOptions = {}): Promise<FaultyBmc & { req: (path: string, o?: PeerRequest) => ReturnType<typeof peerRequest> }> {
    const bmc = await startFaultyBmc({ powerDelayMs: 50, ...opts });
    opened.push(bmc);
    const auth = { username: bmc.username, password: bmc.password };
    return Object.assign(bmc, { req: (path: string, o: PeerRequest = {}) => peerRequest(`${bmc.url}${path}`, { auth, ...(bmc.caFile ? { caFile: bmc.caFile } : {}), ...o }) });
  }
  const SYS = '/redfish/v1/Systems/1';
  const PATCH = { method: 'PATCH', body: { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once' } } };

  test('sessions: login 201 + token + Location, use, logout, then 401', async () => {
    const bmc = await bmcWith();
    const root = await peerRequest(`${bmc.url}/redfish/v1/`);
    assert.equal(root.json.Links.Sessions['@odata.id'], '/redfish/v1/SessionService/Sessions');
    const login = await peerRequest(`${bmc.url}/redfish/v1/SessionService/Sessions`, { method: 'POST', body: { UserName: 'admin', Password: 'secret' } });
    assert.equal(login.status, 201);
    const token = String(login.headers['x-auth-token']);
    const sys = await peerRequest(`${bmc.url}${SYS}`, { headers: { 'X-Auth-Token': token } });
    assert.equal(sys.status, 200);
    assert.equal(bmc.journal.at(-1)!.auth, 'session');
    assert.equal(bmc.counters.liveSessions(), 1);
    assert.equal((await peerRequest(`${bmc.url}${login.headers.location}`, { method: 'DELETE', headers: { 'X-Auth-Token': token } })).status, 204);
    assert.equal((await peerRequest(`${bmc.url}${SYS}`, { headers: { 'X-Auth-Token': token } })).status, 401);
    assert.deepEqual([bmc.counters.sessionsCreated, bmc.counters.sessionsDeleted, bmc.counters.liveSessions()], [1, 1, 0]);
    assert.equal((await peerRequest(`${bmc.url}${SYS}`)).status, 401);
  });

  test('session faults: none, no-token, basic-401, maxSessions, idle expiry', async () => {
    const bmc = await bmcWith({ faults: { sessions: 'none' } });
    const login = (o: PeerRequest = {}) => peerRequest(`${bmc.url}/redfish/v1/SessionService/Sessions`, { method: 'POST', body: { UserName: 'admin', Password: 'secret' }, ...o });
    assert.equal((await peerRequest(`${bmc.url}/redfish/v1/`)).json.Links, undefined);
    assert.equal((await login()).status, 404);
    bmc.faults.sessions = 'no-token';
    const none = await login();
    assert.deepEqual([none.status, none.headers['x-auth-token']], [204, undefined]);
    bmc.faults.sessions = 'basic-401';
    const challenged = await login();
    assert.equal(challenged.status, 401);
    assert.match(String(challenged.headers['www-authenticate']), /^Basic/);
    assert.equal((await bmc.req(SYS)).status, 200);
    bmc.faults.sessions = 'normal';
    bmc.faults.maxSessions = 1;
    assert.equal((await login()).status, 201);
    const over = await login();
    assert.equal(over.status, 503);
    assert.match(over.json.error['@Message.ExtendedInfo'][0].MessageId, /SessionLimitExceeded$/);
    bmc.faults.sessionIdleExpiryMs = 100;
    await new Promise((r) => setTimeout(r, 150));
    const again = await login();
    assert.equal(again.status, 201, 'the idle session was forgotten, so a new one fits');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await peerRequest(`${bmc.url}${SYS}`, { headers: { 'X-Auth-Token': String(again.headers['x-auth-token']) } })).status, 401);
  });

  test('If-Match: require-428, wrong tag 412, right tag 200 and a new ETag; stale-412 once', async () => {
    const bmc = await bmcWith({ faults: { ifMatch: 'require-428' } });
    const first = await bmc.req(SYS);
    assert.equal(first.headers.etag, first.json['@odata.etag']);
    const bare = await bmc.req(SYS, PATCH);
    assert.equal(bare.status, 428);
    assert.match(bare.json.error['@Message.ExtendedInfo'][0].MessageId, /^Base\.1\.\d+\.\d+\.PreconditionRequired$/);
    assert.equal((await bmc.req(SYS, { ...PATCH, headers: { 'If-Match': '"nope"' } })).status, 412);
    assert.equal((await bmc.req(SYS, { ...PATCH, headers: { 'If-Match': String(first.headers.etag) } })).status, 200);
    const second = await bmc.req(SYS);
    assert.equal(second.json.Boot.BootSourceOverrideTarget, 'Pxe');
    assert.notEqual(second.headers.etag, first.headers.etag);
    bmc.faults.ifMatch = 'stale-412';
    assert.equal((await bmc.req(SYS, { ...PATCH, headers: { 'If-Match': String(second.headers.etag) } })).status, 412);
    assert.equal((await bmc.req(SYS, { ...PATCH, headers: { 'If-Match': String(second.headers.etag) } })).status, 200);
    assert.equal(bmc.journal.filter((j) => j.method === 'PATCH').at(-1)!.ifMatch, second.headers.etag);
  });

  test('weak ETag: only the strong form passes; header and @odata.etag differing', async () => {
    const bmc = await bmcWith({ faults: { weakEtag: true } });
    const tag = String((await bmc.req(SYS)).headers.etag);
    assert.match(tag, /^W\/"/);
    assert.equal((await bmc.req(SYS, { ...PATCH, headers: { 'If-Match': tag } })).status, 412);
    assert.equal((await bmc.req(SYS, { ...PATCH, headers: { 'If-Match': tag.slice(2) } })).status, 200);
    bmc.faults.weakEtag = false;
    bmc.faults.headerEtagDiffers = 'odata-matches';
    const sys = await bmc.req(SYS);
    assert.notEqual(sys.headers.etag, sys.json['@odata.etag']);
    assert.equal((await bmc.req(SYS, { ...PATCH, headers: { 'If-Match': String(sys.headers.etag) } })).status, 412);
    assert.equal((await bmc.req(SYS, { ...PATCH, headers: { 'If-Match': sys.json['@odata.etag'] } })).status, 200);
  });

  test('Boot quirks: SettingsObject, Supermicro mode reset, iLO mode refused, PATCH not stored', async () => {
    const bmc = await bmcWith({ faults: { settingsObject: true } });
    const sys = await bmc.req(SYS);
    assert.equal(sys.json['@Redfish.Settings'].SettingsObject['@odata.id'], `${SYS}/SD`);
    assert.equal((await bmc.req(SYS, PATCH)).status, 405);
    assert.equal((await bmc.req(`${SYS}/SD`, PATCH)).status, 200);
    assert.equal(bmc.systems[0]!.boot.BootSourceOverrideTarget, 'None', 'pending until power on');
    await bmc.req(`${SYS}/Actions/ComputerSystem.Reset`, { method: 'POST', body: { ResetType: 'On' } });
    await waitFor('power on', () => bmc.systems[0]!.powerState === 'On' || undefined, 2000, 10);
    assert.equal(bmc.systems[0]!.boot.BootSourceOverrideTarget, 'Pxe');

    bmc.faults.settingsObject = false;
    bmc.faults.modeResetUnlessWithTarget = true;
    await bmc.req(SYS, { method: 'PATCH', body: { Boot: { BootSourceOverrideTarget: 'Hdd' } } });
    assert.equal(bmc.systems[0]!.boot.BootSourceOverrideMode, 'Legacy');
    bmc.faults.refuseModeField = true;
    const refused = await bmc.req(SYS, { method: 'PATCH', body: { Boot: { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideMode: 'UEFI' } } });
    assert.equal(refused.status, 400);
    assert.match(refused.json.error['@Message.ExtendedInfo'][0].MessageId, /PropertyNotWritable$/);
    assert.equal(bmc.systems[0]!.boot.BootSourceOverrideTarget, 'Hdd');
    bmc.faults.refuseModeField = false;
    bmc.faults.patchNotStored = true;
    assert.equal((await bmc.req(SYS, PATCH)).status, 200);
    assert.equal(bmc.systems[0]!.boot.BootSourceOverrideTarget, 'Hdd');
    assert.equal(bmc.counters.patchesIgnored, 1);
  });

  test('Reset: 204, PowerCycle is Off then On after powerDelayMs; bad ResetType 400', async () => {
    const bmc = await bmcWith({ systems: [{ id: '1', powerState: 'On' }] });
    const t0 = Date.now();
    assert.equal((await bmc.req(`${SYS}/Actions/ComputerSystem.Reset`, { method: 'POST', body: { ResetType: 'PowerCycle' } })).status, 204);
    assert.equal((await bmc.req(SYS)).json.PowerState, 'Off');
    await waitFor('back on', async () => ((await bmc.req(SYS)).json.PowerState === 'On') || undefined, 2000, 10);
    assert.ok(Date.now() - t0 >= 50);
    const bad = await bmc.req(`${SYS}/Actions/ComputerSystem.Reset`, { method: 'POST', body: { ResetType: 'Nmi' } });
    assert.equal(bad.status, 400);
    assert.deepEqual([bmc.counters.resets, bmc.counters.resetTypes], [1, ['PowerCycle']]);
  });

  test('Reset answered late: applied at once, answered after resetAnswerDelayMs', async () => {
    const bmc = await bmcWith({ faults: { resetAnswerDelayMs: 400 } });
    const t0 = Date.now();
    const answer = bmc.req(`${SYS}/Actions/ComputerSystem.Reset`, { method: 'POST', body: { ResetType: 'On' } });
    await waitFor('power on before the answer', () => bmc.systems[0]!.powerState === 'On' || undefined, 1000, 10);
    assert.ok(Date.now() - t0 < 400);
    assert.equal((await answer).status, 204);
    assert.ok(Date.now() - t0 >= 400);
  });

  test('Reset as a task: failing task leaves power alone; succeeding one lands', async () => {
    const bmc = await bmcWith({ faults: { resetTask: 'fails', taskMs: 200 } });
    const started = await bmc.req(`${SYS}/Actions/ComputerSystem.Reset`, { method: 'POST', body: { ResetType: 'On' } });
    assert.equal(started.status, 202);
    const monitor = String(started.headers.location);
    const running = await bmc.req(monitor);
    assert.deepEqual([running.status, running.json.TaskState], [202, 'Running']);
    const done = await waitFor('task end', async () => { const r = await bmc.req(monitor); return r.status !== 202 ? r : undefined; }, 2000, 20);
    assert.deepEqual([done.status, done.json.TaskState, done.json.TaskStatus], [200, 'Exception', 'Critical']);
    assert.ok(done.json.Messages[0].Message);
    assert.equal((await bmc.req('/redfish/v1/TaskService/Tasks/1')).json.TaskState, 'Exception');
    assert.deepEqual([bmc.systems[0]!.powerState, bmc.counters.resets], ['Off', 0]);

    bmc.faults.resetTask = 'succeeds';
    const ok = await bmc.req(`${SYS}/Actions/ComputerSystem.Reset`, { method: 'POST', body: { ResetType: 'On' } });
    const end = await waitFor('task end', async () => { const r = await bmc.req(String(ok.headers.location)); return r.status !== 202 ? r : undefined; }, 2000, 20);
    assert.equal(end.status, 204);
    assert.deepEqual([bmc.systems[0]!.powerState, bmc.counters.resets], ['On', 1]);
  });

  test('redirect by Name: 307 to the Id path, or to another host', async () => {
    const bmc = await bmcWith({ systems: [{ id: '1', name: 'node-1' }], faults: { redirect: true } });
    const r = await bmc.req('/redfish/v1/Systems/node-1/Actions/ComputerSystem.Reset', { method: 'POST', body: { ResetType: 'On' } });
    assert.deepEqual([r.status, r.headers.location], [307, `${SYS}/Actions/ComputerSystem.Reset`]);
    assert.equal(bmc.counters.resets, 0);
    bmc.faults.redirectOtherHost = true;
    const other = await bmc.req('/redfish/v1/Systems/node-1');
    assert.equal(other.headers.location, `http://127.0.0.2:${bmc.port}${SYS}`);
  });

  test('TLS: https with its own CA file', async () => {
    const bmc = await bmcWith({ tls: true });
    assert.match(bmc.url, /^https:/);
    assert.equal((await bmc.req(SYS)).json.Id, '1');
  });
});
