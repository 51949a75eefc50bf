// The Redfish driver and its wrapper against a BMC that misbehaves the ways real ones do
// (tests/lib/faulty-bmc.ts): every fault gets "power cycle --boot pxe" as Rackhand runs it (the
// one-time PXE override, then the cycle, polled until on), and each must end right with exactly
// one Reset sent. A table of resets and sessions per fault is printed at the end.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFaultyBmc, type FaultyBmc, type FaultyBmcFaults } from '../lib/faulty-bmc.js';
import { RedfishDriver, type RedfishConfig } from '../../daemon/power/redfish.js';
import { RedfishSessions } from '../../daemon/power/redfish-session.js';
import { ManagedPower, type ManagedOptions } from '../../daemon/power/managed.js';
import { KeyedQueue } from '../../daemon/power/queue.js';
import { PowerError } from '../../daemon/power/errors.js';

const env = { BMC_PW: 'secret' };
const rows: string[][] = [];
const started: FaultyBmc[] = [];

after(async () => {
  await Promise.all(started.map((b) => b.close()));
  const widths = [0, 1, 2, 3].map((i) => Math.max(...[['fault', 'resets sent', 'sessions made', 'outcome'], ...rows].map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(['Redfish: one "power cycle --boot pxe" per fault', line(['fault', 'resets sent', 'sessions made', 'outcome']), ...rows.map(line)].join('\n'));
});

interface Run {
  bmc: FaultyBmc;
  sessions: RedfishSessions;
  state?: string;
  error?: PowerError;
  notes: string[];
  /** Reset POSTs that reached the BMC (answered or not). */
  resets: number;
}

async function bmcWith(faults: FaultyBmcFaults, opts: Parameters<typeof startFaultyBmc>[0] = {}): Promise<FaultyBmc> {
  const bmc = await startFaultyBmc({ systems: [{ id: '1', name: 'node-1', powerState: 'On' }], powerDelayMs: 300, ...opts, faults });
  started.push(bmc);
  return bmc;
}

/** `rackhand power M cycle --boot pxe`, as the API runs it: the override, then the cycle. */
async function cycleWithPxe(label: string, bmc: FaultyBmc, over: Partial<RedfishConfig> = {}, managed: Partial<ManagedOptions> = {}, mode?: 'uefi' | 'legacy'): Promise<Run> {
  const sessions = new RedfishSessions();
  const notes: string[] = [];
  const driver = new RedfishDriver({ machine: 'node-1', address: bmc.url, username: 'admin', password_env: 'BMC_PW', system: '1', ...over }, { env, sessions });
  const p = new ManagedPower(driver, { machine: 'node-1', queue: new KeyedQueue(), poll: { interval: 100, timeout: 15_000 }, retry: { initial: 50 }, onNote: (n) => notes.push(`${n.action}:${n.outcome}`), ...managed });
  const run: Run = { bmc, sessions, notes, resets: 0 };
  try {
    await p.setBootDevice({ device: 'pxe', mode, persistent: false });
    run.state = await p.cycle();
  } catch (err) {
    run.error = err as PowerError;
  }
  // Applied Resets are counted at once, answered ones when the answer is written (a late answer
  // is not yet, a failed task's Reset is never applied): the larger count is what arrived.
  run.resets = Math.max(bmc.counters.resetTypes.length, bmc.journal.filter((j) => j.method === 'POST' && j.path.endsWith('ComputerSystem.Reset')).length);
  const made = bmc.counters.sessionsCreated;
  await sessions.closeAll();
  rows.push([label, String(run.resets), String(made), run.error ? `${run.error.code}: ${run.error.bmcMessage.slice(0, 70)}` : `ok (${run.state})`]);
  return run;
}

const patches = (bmc: FaultyBmc) => bmc.journal.filter((j) => j.method === 'PATCH').map((j) => `${j.status}${j.ifMatch ? ` ${j.ifMatch}` : ' -'}`);
const boot = (bmc: FaultyBmc) => bmc.systems[0]!.boot;

test('no fault: one session for the override, the cycle and every poll; logged out at the end; one reset', async () => {
  const bmc = await bmcWith({});
  const r = await cycleWithPxe('none', bmc);
  assert.equal(r.state, 'on');
  assert.equal(r.resets, 1);
  assert.deepEqual(bmc.counters.resetTypes, ['PowerCycle']);
  const polls = bmc.journal.filter((j) => j.method === 'GET' && j.path === '/redfish/v1/Systems/1').length;
  assert.ok(polls >= 4, `polled (${polls} reads)`);
  assert.equal(bmc.counters.sessionsCreated, 1, 'one session for everything');
  assert.equal(bmc.counters.sessionsDeleted, 1, 'logged out');
  assert.equal(bmc.counters.liveSessions(), 0);
  assert.ok(bmc.journal.filter((j) => j.path.startsWith('/redfish/v1/Systems')).every((j) => j.auth === 'session'));
  assert.equal(boot(bmc).BootSourceOverrideTarget, 'Pxe');
  assert.equal(boot(bmc).BootSourceOverrideEnabled, 'Once');
});

for (const [fault, faults, want] of [
  ['If-Match required (428)', { ifMatch: 'require-428' }, /^200 "/],
  ['If-Match stale once (412)', { ifMatch: 'stale-412' }, /^412 ".*,200 "/],
  ['409 without If-Match', { ifMatch: 'conflict-409' }, /^200 "/],
  ['weak ETag, strong accepted', { weakEtag: true }, /^412 W\/".*,412 W\/".*,200 "/],
  ['weak ETag, none accepted', { weakEtag: true, weakRejectAll: true }, /,200 -$/],
  ['header ETag ≠ @odata.etag (body right)', { headerEtagDiffers: 'odata-matches' }, /^412 ".*,200 "/],
  ['header ETag ≠ @odata.etag (header right)', { headerEtagDiffers: 'header-matches' }, /^200 "/],
] as [string, FaultyBmcFaults, RegExp][]) {
  test(`ETags: ${fault} → the override is stored, one reset`, async () => {
    const bmc = await bmcWith(faults);
    const r = await cycleWithPxe(fault, bmc);
    assert.equal(r.error, undefined, r.error?.message);
    assert.equal(r.state, 'on');
    assert.match(patches(bmc).join(','), want);
    assert.equal(boot(bmc).BootSourceOverrideTarget, 'Pxe');
    assert.equal(r.resets, 1);
  });
}

test('a Reset answered after 22 s (the call gives up at 20 s): not sent again, the state decides, one reset', async () => {
  const bmc = await bmcWith({ resetAnswerDelayMs: 22_000 });
  const t0 = Date.now();
  const r = await cycleWithPxe('Reset answered after 22 s', bmc, {}, { callTimeout: 20_000 });
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.state, 'on');
  assert.ok(Date.now() - t0 < 30_000);
  assert.equal(r.resets, 1);
  assert.ok(r.notes.includes('cycle:unanswered'), r.notes.join(' '));
  assert.ok(!r.notes.includes('cycle:retry'));
});

test('202 with a task that fails: the task\'s own message is the error; one reset, power untouched', async () => {
  const bmc = await bmcWith({ resetTask: 'fails', taskMs: 400 });
  const r = await cycleWithPxe('202, task fails', bmc);
  assert.equal(r.error?.code, 'BMC_ERROR');
  assert.match(r.error!.message, /task \/redfish\/v1\/TaskService\/TaskMonitors\/1 failed: Base\.1\.12\.0\.GeneralError: The ComputerSystem\.Reset PowerCycle of 1 failed: the power controller did not respond/);
  assert.doesNotMatch(r.error!.message, /still on after/);
  assert.equal(r.resets, 1);
  assert.equal(bmc.systems[0]!.powerState, 'On');
});

test('202 with a task that succeeds: followed, then the state; one reset', async () => {
  const bmc = await bmcWith({ resetTask: 'succeeds', taskMs: 400 });
  const r = await cycleWithPxe('202, task succeeds', bmc);
  assert.equal(r.state, 'on', r.error?.message);
  assert.equal(r.resets, 1);
  assert.ok(bmc.journal.some((j) => j.path.includes('/TaskMonitors/') && j.status === 202), 'the monitor was read while running');
});

test('a system named by its Name: the 307 is followed (one reset); a redirect to another host is refused, nothing sent', async () => {
  const bmc = await bmcWith({ redirect: true });
  const r = await cycleWithPxe('307 by name', bmc, { system: 'node-1' });
  assert.equal(r.state, 'on', r.error?.message);
  assert.equal(r.resets, 1);
  assert.equal(boot(bmc).BootSourceOverrideTarget, 'Pxe');
  assert.ok(bmc.journal.some((j) => j.status === 307));

  const other = await bmcWith({ redirect: true, redirectOtherHost: true });
  const o = await cycleWithPxe('307 to another host', other, { system: 'node-1' });
  assert.equal(o.error?.code, 'BMC_ERROR');
  assert.match(o.error!.message, new RegExp(`GET 127\\.0\\.0\\.1:${other.port}/redfish/v1/Systems/node-1: HTTP 307 to another host \\(127\\.0\\.0\\.2:${other.port}\\): not followed`));
  assert.equal(o.resets, 0);
});

test('a PATCH answered 200 but not stored: read back, sent again; never stored → a clear error and no reset', async () => {
  const once = await bmcWith({ patchNotStored: 1 });
  const r = await cycleWithPxe('PATCH 200 not stored (once)', once);
  assert.equal(r.state, 'on', r.error?.message);
  assert.equal(patches(once).length, 2);
  assert.equal(boot(once).BootSourceOverrideTarget, 'Pxe');
  assert.equal(r.resets, 1);

  const never = await bmcWith({ patchNotStored: true });
  const n = await cycleWithPxe('PATCH 200 never stored', never);
  assert.equal(n.error?.code, 'BMC_ERROR');
  assert.match(n.error!.message, new RegExp(`PATCH 127\\.0\\.0\\.1:${never.port}/redfish/v1/Systems/1 was accepted but not stored \\(reads back BootSourceOverrideEnabled "Disabled", BootSourceOverrideTarget "None"`));
  assert.equal(n.resets, 0, 'no cycle into the wrong boot device');
});

test('AMI: the override goes to the settings resource and takes effect at the reset', async () => {
  const bmc = await bmcWith({ settingsObject: true });
  const r = await cycleWithPxe('AMI settings object', bmc);
  assert.equal(r.state, 'on', r.error?.message);
  assert.deepEqual(bmc.journal.filter((j) => j.method === 'PATCH').map((j) => j.path), ['/redfish/v1/Systems/1/SD']);
  assert.equal(boot(bmc).BootSourceOverrideTarget, 'Pxe', 'applied by the cycle');
  assert.equal(r.resets, 1);
});

test('Supermicro: the mode is sent with the target, so the BMC cannot reset it', async () => {
  const bmc = await bmcWith({ modeResetUnlessWithTarget: true });
  const r = await cycleWithPxe('mode reset unless with target', bmc, {}, {}, 'uefi');
  assert.equal(r.state, 'on', r.error?.message);
  assert.equal(boot(bmc).BootSourceOverrideMode, 'UEFI');
  assert.deepEqual((bmc.journal.find((j) => j.method === 'PATCH')!.body as { Boot: Record<string, string> }).Boot,
    { BootSourceOverrideEnabled: 'Once', BootSourceOverrideTarget: 'Pxe', BootSourceOverrideMode: 'UEFI' });
});

test('iLO refusing the mode field: one try without it when the mode already fits; otherwise a clear error, no reset', async () => {
  const fits = await bmcWith({ refuseModeField: true });
  const r = await cycleWithPxe('mode field refused (fits)', fits, {}, {}, 'uefi');
  assert.equal(r.state, 'on', r.error?.message);
  assert.deepEqual(fits.journal.filter((j) => j.method === 'PATCH').map((j) => j.status), [400, 200]);
  assert.equal(r.resets, 1);

  const differs = await bmcWith({ refuseModeField: true });
  const d = await cycleWithPxe('mode field refused (differs)', differs, {}, {}, 'legacy');
  assert.equal(d.error?.code, 'UNSUPPORTED');
  assert.match(d.error!.message, /refuses to set BootSourceOverrideMode Legacy \(it is UEFI\): set the boot mode in the firmware setup, or change boot_mode/);
  assert.equal(d.resets, 0);
});

for (const [label, mode] of [['no session service', 'none'], ['login answered without a token', 'no-token'], ['login demands basic (401)', 'basic-401']] as const) {
  test(`auth auto, ${label} → basic auth, one reset`, async () => {
    const bmc = await bmcWith({ sessions: mode });
    const r = await cycleWithPxe(`auth: ${label}`, bmc);
    assert.equal(r.state, 'on', r.error?.message);
    assert.equal(bmc.counters.sessionsCreated, 0);
    assert.ok(bmc.journal.filter((j) => j.path.startsWith('/redfish/v1/Systems')).every((j) => j.auth === 'basic'));
    // The probe is made once per BMC, not per call.
    assert.ok(bmc.journal.filter((j) => j.method === 'POST' && j.path.endsWith('/Sessions')).length <= 1);
    assert.equal(r.resets, 1);
  });
}

test('a session the BMC forgot: one new login, the request sent again (it was refused, not done); one reset', async () => {
  const bmc = await bmcWith({ sessionIdleExpiryMs: 250 });
  const r = await cycleWithPxe('session expired between calls', bmc, {}, { poll: { interval: 400, timeout: 15_000 } });
  assert.equal(r.state, 'on', r.error?.message);
  assert.ok(bmc.journal.some((j) => j.status === 401 && j.auth === 'session'), 'the BMC refused the stale token');
  assert.ok(bmc.counters.sessionsCreated >= 2);
  assert.equal(r.resets, 1);
});

test('two machines behind one BMC that allows one session: they share it', async () => {
  const bmc = await startFaultyBmc({ systems: [{ id: '1', powerState: 'On' }, { id: '2', powerState: 'Off' }], faults: { maxSessions: 1 } });
  started.push(bmc);
  const sessions = new RedfishSessions();
  const queue = new KeyedQueue();
  const mk = (system: string) => new ManagedPower(new RedfishDriver({ machine: `m${system}`, address: bmc.url, username: 'admin', password_env: 'BMC_PW', system }, { env, sessions }),
    { machine: `m${system}`, queue, poll: { interval: 100, timeout: 10_000 } });
  assert.deepEqual(await Promise.all([mk('1').cycle(), mk('2').on()]), ['on', 'on']);
  assert.equal(bmc.counters.sessionsCreated, 1);
  assert.equal(sessions.open, 1);
  await sessions.closeAll();
  assert.equal(bmc.counters.liveSessions(), 0);
  rows.push(['two machines, max 1 session', `${bmc.counters.resets} (one each)`, String(bmc.counters.sessionsCreated), 'ok (on, on)']);
});

test('HTTPS with the BMC\'s CA: same flow, one session, one reset', async () => {
  const bmc = await bmcWith({}, { tls: true });
  assert.match(bmc.url, /^https:/);
  const r = await cycleWithPxe('none, over HTTPS', bmc, { ca_file: bmc.caFile });
  assert.equal(r.state, 'on', r.error?.message);
  assert.equal(r.resets, 1);
  assert.equal(bmc.counters.sessionsCreated, 1);
});

test('a hostile BMC cannot hold a call or flood memory: a dripping answer times out, an endless one is cut at 4 MiB, its words are bounded', async () => {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    if (req.url === '/redfish/v1/') { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{}'); return; }
    if (req.url === '/redfish/v1/Systems/drip') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const t = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(t));
      return;
    }
    if (req.url === '/redfish/v1/Systems/flood') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => { while (res.write(chunk)); };
      res.on('drain', pump);
      pump();
      return;
    }
    res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'Base.1.0.GeneralError', message: 'x'.repeat(100_000) } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const mk = (system: string) => new ManagedPower(new RedfishDriver({ machine: 'hostile', address: `http://127.0.0.1:${port}`, username: 'admin', password_env: 'BMC_PW', system, auth: 'basic' }, { env, sessions: new RedfishSessions() }),
    { machine: 'hostile', queue: new KeyedQueue(), callTimeout: 800, retry: { retries: 0 } });
  try {
    const t0 = Date.now();
    const drip = await mk('drip').status().then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);
    assert.equal(drip.code, 'TIMEOUT');
    assert.ok(Date.now() - t0 < 2_000, `bounded (${Date.now() - t0} ms)`);
    const flood = await mk('flood').status().then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);
    assert.equal(flood.code, 'BMC_ERROR');
    assert.match(flood.message, /answer larger than 4194304 bytes/);
    const wordy = await mk('wordy').status().then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);
    assert.ok(wordy.message.length < 600, `the BMC's words are bounded (${wordy.message.length})`);
    assert.match(wordy.message, new RegExp(`GET 127\\.0\\.0\\.1:${port}/redfish/v1/Systems/wordy: HTTP 400: x{300}\\)`));
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
