// The Redfish driver against the lab's emulator over HTTPS with its throwaway CA, each system a
// tiny QEMU (no disk, no OS) driven through QMP. One VM at a time, all killed in after().
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { startRedfishEmulator, type RedfishEmulator } from '../../daemon/lab/redfish-emulator/server.js';
import { RedfishDriver, type RedfishConfig } from '../../daemon/power/redfish.js';
import { RedfishSessions } from '../../daemon/power/redfish-session.js';
import { ManagedPower } from '../../daemon/power/managed.js';
import { KeyedQueue } from '../../daemon/power/queue.js';
import { PowerError } from '../../daemon/power/errors.js';
import { processRunning } from '../../daemon/lab/ipmi-sim.js';
import { tempDir } from '../lib/tmp.js';
import { captureLogger, freeTcpPort } from '../fixtures/power/helpers.js';

const PASSWORD = 'Rf-Pa55-9d2e4b';
const WRONG = 'Rf-Wrong-77aa01';
const env = { RF_PW: PASSWORD, RF_WRONG: WRONG };
// The tests' own sessions, so each can log out and count without the process-wide ones.
const sessions = new RedfishSessions();
let dir: string;
let emu: RedfishEmulator;   // sessions + basic, two systems
let strict: RedfishEmulator; // basic only, If-Match demanded, slow actions

before(async () => {
  dir = tempDir('redfish');
  emu = await startRedfishEmulator({
    dir: `${dir}/a`, username: 'admin', password: PASSWORD,
    systems: [
      { id: 'vm-a', vm: { name: 'rf-a', memory: 128 } },
      { id: 'vm-b', vm: { name: 'rf-b', memory: 128 }, resetTypes: ['ForceOn', 'ForceOff', 'ForceRestart'] },
    ],
  });
  strict = await startRedfishEmulator({
    dir: `${dir}/b`, username: 'admin', password: PASSWORD, sessions: false, requireIfMatch: true, actionDelayMs: 300,
    systems: [{ id: 'only', vm: { name: 'rf-only', memory: 128 } }],
  });
});

after(async () => {
  await emu?.close();
  await strict?.close();
  rmSync(dir, { recursive: true, force: true });
});

function cfg(e: RedfishEmulator, over: Partial<RedfishConfig> = {}): RedfishConfig {
  return { machine: 'node-rf', address: `127.0.0.1:${e.port}`, username: 'admin', password_env: 'RF_PW', ca_file: e.caFile, ...over };
}
function managed(d: RedfishDriver, over: Partial<ConstructorParameters<typeof ManagedPower>[1]> = {}) {
  return new ManagedPower(d, { machine: 'node-rf', queue: new KeyedQueue(), poll: { interval: 200, timeout: 10_000 }, ...over });
}
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

test('session auth: off → one-time PXE → on (QEMU started with -boot once=n) → cycle (override gone) → off', async () => {
  const { log, text } = captureLogger();
  const p = managed(new RedfishDriver(cfg(emu, { system: 'vm-a' }), { env, sessions }), { log });
  const vm = emu.vms.get('vm-a')!;
  const from = emu.journal.length;
  try {
    assert.equal(await p.status(), 'off');
    await p.setBootDevice({ device: 'pxe', mode: 'legacy', persistent: false });
    assert.equal(emu.systems.get('vm-a')!.boot.enabled, 'Once');
    assert.equal(await p.on(), 'on');
    const pid = vm.pid!;
    assert.ok(processRunning(pid));
    assert.match(cmdline(pid), /-boot once=n/);
    assert.equal(emu.systems.get('vm-a')!.boot.enabled, 'Disabled', 'Once is consumed by the start');

    assert.equal(await p.cycle(), 'on');
    const pid2 = vm.pid!;
    assert.notEqual(pid2, pid);
    assert.ok(!processRunning(pid));
    assert.doesNotMatch(cmdline(pid2), /once=n/);

    assert.equal(await p.off(), 'off');
    assert.ok(!processRunning(pid2), 'QEMU gone after off');
  } finally {
    await vm.kill();
  }
  await sessions.closeAll();
  const mine = emu.journal.slice(from);
  assert.ok(mine.filter((j) => j.path.includes('/Systems/')).every((j) => j.auth === 'session'));
  // One login for the whole sequence, polls included; logged out once, at the end.
  assert.equal(mine.filter((j) => j.method === 'POST' && j.path.endsWith('/Sessions')).length, 1, 'one session reused');
  assert.equal(mine.filter((j) => j.method === 'DELETE').length, 1, 'logged out once');
  assert.equal(emu.sessionCount(), 0);
  const resets = mine.filter((j) => j.path.endsWith('ComputerSystem.Reset')).map((j) => (j.body as { ResetType: string }).ResetType);
  assert.deepEqual(resets, ['On', 'PowerCycle', 'ForceOff']);
  assert.doesNotMatch(text(), new RegExp(PASSWORD));
});

test('reset types come from the system\'s allowable values; UEFI mode reaches the VM (OVMF)', async () => {
  const d = new RedfishDriver(cfg(emu, { system: 'vm-b', auth: 'basic' }), { env, sessions });
  const p = managed(d);
  const vm = emu.vms.get('vm-b')!;
  const from = emu.journal.length;
  try {
    await p.setBootDevice({ device: 'pxe', mode: 'uefi', persistent: false });
    assert.equal(emu.systems.get('vm-b')!.boot.mode, 'UEFI');
    assert.equal(await p.on(), 'on');
    assert.match(cmdline(vm.pid!), /if=pflash/);
    assert.equal(await p.off(), 'off');
  } finally {
    await vm.kill();
  }
  const mine = emu.journal.slice(from);
  assert.ok(mine.every((j) => j.auth === 'basic'), 'basic auth only');
  assert.equal(mine.filter((j) => j.path.endsWith('/Sessions')).length, 0);
  const resets = mine.filter((j) => j.path.endsWith('ComputerSystem.Reset')).map((j) => (j.body as { ResetType: string }).ResetType);
  assert.deepEqual(resets, ['ForceOn', 'ForceOff']);
});

test('several systems and no power.system → a clear CONFIG error', async () => {
  const err = await new RedfishDriver(cfg(emu), { env, sessions }).getPowerState().then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);
  assert.equal(err.code, 'CONFIG');
  assert.match(err.message, /set power.system/);
});

test('no session service → basic auth; If-Match demanded → the ETag just read is sent', async () => {
  const d = new RedfishDriver(cfg(strict), { env, sessions }); // auto auth, system found in the collection
  const from = strict.journal.length;
  await d.setBootDevice({ device: 'pxe', persistent: false });
  const patches = strict.journal.slice(from).filter((j) => j.method === 'PATCH').map((j) => j.status);
  // The ETag just read goes with the first PATCH: no 428 round trip.
  assert.deepEqual(patches, [200]);
  assert.equal(strict.systems.get('only')!.boot.target, 'Pxe');
});

test('two concurrent commands to one BMC run one after the other', async () => {
  const queue = new KeyedQueue();
  const a = managed(new RedfishDriver(cfg(strict), { env, sessions }), { queue, machine: 'node-a' });
  const b = managed(new RedfishDriver(cfg(strict), { env, sessions }), { queue, machine: 'node-b' });
  const from = strict.journal.length;
  await Promise.all([a.setBootDevice({ device: 'pxe', persistent: false }), b.setBootDevice({ device: 'disk', persistent: false })]);
  const reqs = strict.journal.slice(from);
  // Each command is a GET, PATCH (If-Match), GET (read back): no request
  // of one starts before the previous one ended, so the two commands never interleave.
  assert.equal(reqs.filter((r) => r.method === 'PATCH' && r.status === 200).length, 2);
  for (let i = 1; i < reqs.length; i++) assert.ok(reqs[i]!.start >= reqs[i - 1]!.end, `overlap at ${i}: ${JSON.stringify(reqs.map((r) => [r.method, r.status, r.start, r.end]))}`);
  // Without the shared queue the same calls overlap at the emulator: the check above means something.
  const from2 = strict.journal.length;
  await Promise.all([managed(new RedfishDriver(cfg(strict), { env, sessions })).setBootDevice({ device: 'pxe', persistent: false }),
    managed(new RedfishDriver(cfg(strict), { env, sessions })).setBootDevice({ device: 'disk', persistent: false })]);
  const free = strict.journal.slice(from2);
  assert.ok(free.some((r, i) => i > 0 && r.start < free[i - 1]!.end), 'unserialized calls overlap');
});

test('TLS is verified: without the CA → CONFIG error; insecure: true → works', async () => {
  const err = await new RedfishDriver(cfg(strict, { ca_file: undefined }), { env, sessions }).getPowerState().then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);
  assert.equal(err.code, 'CONFIG');
  assert.match(err.message, /not trusted/);
  assert.equal(await new RedfishDriver(cfg(strict, { ca_file: undefined, insecure: true }), { env, sessions }).getPowerState(), 'off');
});

test('wrong password → AUTH_FAILED with the BMC\'s message; the password is nowhere', async () => {
  const { log, text } = captureLogger();
  const notes: unknown[] = [];
  for (const e of [emu, strict]) {
    const from = e.journal.length;
    const p = managed(new RedfishDriver(cfg(e, { password_env: 'RF_WRONG', system: e === emu ? 'vm-a' : undefined }), { env, sessions }), { log, onNote: (n) => notes.push(n) });
    const err = await p.status().then(() => assert.fail('should fail'), (x: unknown) => x as PowerError);
    assert.equal(err.code, 'AUTH_FAILED');
    assert.match(err.message, /node-rf/);
    assert.match(err.message, /authorization error/);
    const all = [err.message, err.stack ?? '', JSON.stringify(err), JSON.stringify(notes), text(), JSON.stringify(e.journal.slice(from))].join('\n');
    for (const secret of [WRONG, PASSWORD, Buffer.from(`admin:${WRONG}`).toString('base64')]) assert.ok(!all.includes(secret), 'a secret leaked');
  }
});

test('BMC down → retried with backoff, then UNREACHABLE', async () => {
  const dead = await freeTcpPort();
  const sleeps: number[] = [];
  const p = managed(new RedfishDriver(cfg(emu, { address: `127.0.0.1:${dead}` }), { env, sessions }), {
    retry: { retries: 3, initial: 50, factor: 2 }, sleep: (ms) => { sleeps.push(ms); return new Promise((r) => setTimeout(r, ms)); },
  });
  const err = await p.status().then(() => assert.fail('should fail'), (x: unknown) => x as PowerError);
  assert.equal(err.code, 'UNREACHABLE');
  assert.match(err.message, /ECONNREFUSED/);
  assert.deepEqual(sleeps, [50, 100, 200]);
});
