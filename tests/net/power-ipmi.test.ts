// The IPMI driver against a real BMC: OpenIPMI's ipmi_sim on loopback, whose chassis_control
// program starts and stops a tiny QEMU (no disk, no OS: it only has to be a real process).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { createSocket, type Socket } from 'node:dgram';
import { startIpmiSim, vmPid, processRunning, type IpmiSim } from '../../daemon/lab/ipmi-sim.js';
import { qemuArgs, QEMU_BINARY } from '../../daemon/lab/qemu.js';
import { IpmiDriver } from '../../daemon/power/ipmi.js';
import { ManagedPower } from '../../daemon/power/managed.js';
import { KeyedQueue } from '../../daemon/power/queue.js';
import { PowerError } from '../../daemon/power/errors.js';
import { tempDir } from '../lib/tmp.js';
import { captureLogger, freeTcpPort, freeUdpPort, waitFor } from '../fixtures/power/helpers.js';

const PASSWORD = 'Sim-Pa55-7f3a91';
const WRONG = 'Wrong-Pa55-c0ffee';
const env = { BMC_PW: PASSWORD, BMC_WRONG: WRONG };
let sim: IpmiSim;
let port: number;
let dir: string;

before(async () => {
  dir = tempDir('ipmisim');
  port = await freeUdpPort();
  const serialPort = await freeTcpPort();
  sim = await startIpmiSim({
    dir, port, serialPort, username: 'admin', password: PASSWORD,
    vmArgv: [QEMU_BINARY, ...qemuArgs({ name: 'ipmi-vm', memory: 128, headless: true, ipmiBmc: { host: '127.0.0.1', port: serialPort } })],
  });
});

after(async () => {
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function driver(over: Partial<ConstructorParameters<typeof IpmiDriver>[0]> = {}, deps: ConstructorParameters<typeof IpmiDriver>[1] = {}) {
  return new IpmiDriver({ machine: 'node-ipmi', address: '127.0.0.1', port, username: 'admin', password_env: 'BMC_PW', ...over }, { env, ...deps });
}

test('status off → one-time PXE → on (QEMU runs, started with -boot once=n) → off (QEMU gone)', async () => {
  const { log, text } = captureLogger();
  const p = new ManagedPower(driver(), { machine: 'node-ipmi', log, queue: new KeyedQueue(), poll: { interval: 200, timeout: 10_000 } });
  assert.equal(await p.status(), 'off');
  assert.equal(vmPid(sim.files), undefined);

  await p.setBootDevice({ device: 'pxe', mode: 'legacy', persistent: false });
  assert.equal(await p.on(), 'on');
  const pid = await waitFor('the QEMU pidfile', () => vmPid(sim.files));
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  assert.equal(cmdline[0], QEMU_BINARY);
  assert.ok(cmdline.join(' ').includes('-boot once=n'), `PXE once applied to this start: ${cmdline.join(' ')}`);

  // A cycle starts a new QEMU; the one-time override was consumed by the previous start.
  assert.equal(await p.cycle(), 'on');
  const pid2 = await waitFor('a new QEMU', () => { const x = vmPid(sim.files); return x !== undefined && x !== pid ? x : undefined; });
  assert.ok(!readFileSync(`/proc/${pid2}/cmdline`, 'utf8').includes('once=n'), 'the override is one-time');
  assert.ok(!processRunning(pid), 'the first QEMU is gone');

  assert.equal(await p.off(), 'off');
  assert.ok(!processRunning(pid2), 'QEMU process gone after off');
  assert.doesNotMatch(text(), new RegExp(PASSWORD));
});

test('UEFI one-time PXE is accepted (options=efiboot)', async () => {
  await driver().setBootDevice({ device: 'pxe', mode: 'uefi', persistent: false });
  assert.equal(readFileSync(sim.files.bootdev, 'utf8').trim(), 'pxe');
  await driver().setBootDevice({ device: 'disk', persistent: false });
});

test('cipher suite 17 refused by ipmi_sim → falls back to 3 and remembers it', async () => {
  const d = driver({ cipher_suite: 17 });
  const t0 = performance.now();
  assert.equal(await d.getPowerState(), 'off');
  const first = performance.now() - t0;
  assert.equal(d.cipherSuite, 3);
  const t1 = performance.now();
  await d.getPowerState();
  const second = performance.now() - t1;
  console.log(`# ipmitool status: first call (17 refused, then 3) ${first.toFixed(0)} ms, next call (-C 3) ${second.toFixed(0)} ms`);
  assert.ok(second < 2000);
});

test('wrong password → AUTH_FAILED, not retried, and the password is nowhere', async () => {
  const { log, text } = captureLogger();
  const notes: unknown[] = [];
  const p = new ManagedPower(driver({ password_env: 'BMC_WRONG' }), {
    machine: 'node-ipmi', log, queue: new KeyedQueue(), onNote: (n) => notes.push(n), retry: { initial: 10 },
  });
  const err = await p.status().then(() => assert.fail('should fail'), (e: unknown) => e);
  assert.ok(err instanceof PowerError);
  assert.equal(err.code, 'AUTH_FAILED');
  assert.match(err.message, /node-ipmi/);
  assert.match(err.message, /wrong password/);
  assert.equal(notes.filter((n) => (n as { outcome: string }).outcome === 'retry').length, 0, 'AUTH_FAILED is not retried');
  const everything = [err.message, err.stack ?? '', JSON.stringify(err), JSON.stringify(notes), text()].join('\n');
  for (const secret of [WRONG, PASSWORD]) assert.ok(!everything.includes(secret), `${secret === WRONG ? 'wrong' : 'right'} password leaked`);
});

test('unknown user → AUTH_FAILED naming the user problem', async () => {
  const err = await driver({ username: 'nobody' }).getPowerState().then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);
  assert.equal(err.code, 'AUTH_FAILED');
  assert.match(err.message, /unknown user name/);
});

test('BMC down → retried with backoff, then UNREACHABLE', async () => {
  const dead = await freeUdpPort();
  const notes: { outcome: string; attempt?: number }[] = [];
  const sleeps: number[] = [];
  const p = new ManagedPower(driver({ port: dead, cipher_suite: 3 }, { packetTimeout: 1, packetRetries: 1 }), {
    machine: 'node-ipmi', queue: new KeyedQueue(), onNote: (n) => notes.push(n),
    retry: { retries: 2, initial: 100, factor: 2 },
    sleep: (ms) => { sleeps.push(ms); return new Promise((r) => setTimeout(r, ms)); },
  });
  const err = await p.status().then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);
  assert.equal(err.code, 'UNREACHABLE');
  assert.deepEqual(sleeps, [100, 200]);
  assert.deepEqual(notes.map((n) => n.outcome), ['retry', 'retry', 'failed']);
});

test('missing password variable → CONFIG error naming the variable, no ipmitool run', async () => {
  const err = await driver({ password_env: 'NOT_SET_ANYWHERE' }).getPowerState().then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);
  assert.equal(err.code, 'CONFIG');
  assert.match(err.message, /NOT_SET_ANYWHERE/);
});

/** A slow path to the BMC: a UDP relay that holds each datagram `delayMs` each way; counts clients. */
async function slowRelay(target: number, delayMs: number): Promise<{ port: number; clients: Set<number>; close(): void }> {
  const front = createSocket('udp4');
  const upstream = new Map<number, Socket>();
  const clients = new Set<number>();
  front.on('message', (msg, rinfo) => {
    clients.add(rinfo.port);
    let up = upstream.get(rinfo.port);
    if (!up) {
      const u = createSocket('udp4');
      u.on('message', (back) => setTimeout(() => front.send(back, rinfo.port, rinfo.address), delayMs));
      u.bind(0, '127.0.0.1');
      upstream.set(rinfo.port, u);
      up = u;
    }
    const u = up;
    setTimeout(() => u.send(msg, target, '127.0.0.1'), delayMs);
  });
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', r));
  return { port: front.address().port, clients, close: () => { front.close(); for (const u of upstream.values()) u.close(); } };
}

/** ipmitool processes talking to this port (found by their command line). */
function ipmitoolsOn(port: number): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let argv: string[];
    try { argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0'); } catch { continue; }
    if (argv[0]?.endsWith('ipmitool') && argv.includes(String(port))) pids.push(Number(d));
  }
  return pids;
}

test('an abandoned status read kills its ipmitool; one still queued never reaches the BMC', async () => {
  const relay = await slowRelay(port, 150);
  try {
    const p = new ManagedPower(driver({ port: relay.port, cipher_suite: 3 }), { machine: 'node-ipmi', queue: new KeyedQueue(), callTimeout: 60_000 });
    const a = new AbortController(), b = new AbortController();
    const first = p.status({ signal: a.signal });
    const second = p.status({ signal: b.signal });
    await waitFor('ipmitool talking to the slow BMC', () => (relay.clients.size === 1 ? true : undefined), 5000, 20);
    const pids = ipmitoolsOn(relay.port);
    assert.equal(pids.length, 1);
    a.abort();
    b.abort();
    for (const r of [first, second]) await assert.rejects(r, (e: PowerError) => e.code === 'CANCELLED');
    await waitFor('ipmitool killed', () => (ipmitoolsOn(relay.port).length === 0 ? true : undefined), 2000, 20);
    assert.ok(pids.every((pid) => !processRunning(pid)));
    assert.equal(relay.clients.size, 1, 'the dequeued read never ran ipmitool');
    // The same slow path answers a read nobody abandons: the abort, not the relay, ended the first.
    assert.equal(await p.status(), 'off');
    assert.equal(relay.clients.size, 2);
  } finally {
    relay.close();
  }
});
