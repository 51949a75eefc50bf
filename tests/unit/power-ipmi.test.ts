// ipmitool's stderr → error codes, and how the driver runs ipmitool (argv, environment, cipher
// fallback) through a fake exec. The stderr samples marked "ipmi_sim" were captured here with
// ipmitool 1.8.19 -v against OpenIPMI 2.0.33's ipmi_sim.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyIpmitool, parsePowerStatus } from '../../daemon/power/ipmi-errors.js';
import { IpmiDriver, type IpmiExec, type IpmiRun } from '../../daemon/power/ipmi.js';
import { PowerError } from '../../daemon/power/errors.js';

const NOISE = 'Loading IANA PEN Registry...\nRunning Get VSO Capabilities my_addr 0x20, transit 0, target 0x20\nInvalid completion code received: Invalid command\nDiscovered IPMB address 0x0\n';

const TABLE: { name: string; stderr: string; exit: number; code: string | undefined; cipher?: boolean }[] = [
  { name: 'success with -v noise (ipmi_sim)', stderr: NOISE, exit: 0, code: undefined },
  { name: 'wrong password (ipmi_sim)', stderr: 'Loading IANA PEN Registry...\n> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session\n', exit: 1, code: 'AUTH_FAILED' },
  { name: 'unknown user (ipmi_sim)', stderr: 'Loading IANA PEN Registry...\nRAKP 2 message indicates an error : unauthorized name\nError: Unable to establish IPMI v2 / RMCP+ session\n', exit: 1, code: 'AUTH_FAILED' },
  { name: 'nothing listening (ipmi_sim port closed)', stderr: 'Loading IANA PEN Registry...\nGet Auth Capabilities error\nError issuing Get Channel Authentication Capabilities request\nError: Unable to establish IPMI v2 / RMCP+ session\n', exit: 1, code: 'UNREACHABLE' },
  { name: 'cipher suite 17 refused (ipmi_sim)', stderr: 'Error in open session response message : invalid authentication algorithm\n\nError: Unable to establish IPMI v2 / RMCP+ session\n', exit: 1, code: 'UNSUPPORTED', cipher: true },
  { name: 'no matching cipher suite (BMC wording)', stderr: 'Error in open session response message : no matching cipher suite\n', exit: 1, code: 'UNSUPPORTED', cipher: true },
  { name: 'user lacks privilege (ipmi_sim, -L USER)', stderr: NOISE.replace('Invalid command', 'Insufficient privilege level') + 'Set Chassis Power Control to Up/On failed: Insufficient privilege level\n', exit: 1, code: 'AUTH_FAILED' },
  { name: 'boot device refused, exit 0 (ipmi_sim without chassis_control)', stderr: 'Set Chassis Boot Parameter 4 failed: Invalid data field in request\nSet Chassis Boot Parameter 5 failed: Invalid data field in request\n', exit: 0, code: 'UNSUPPORTED' },
  { name: 'chassis control program failed (ipmi_sim)', stderr: NOISE + 'Set Chassis Boot Parameter 5 failed: Unspecified error\n', exit: 0, code: 'BMC_ERROR' },
  { name: 'bare session failure without -v detail', stderr: 'Error: Unable to establish IPMI v2 / RMCP+ session\n', exit: 1, code: 'UNREACHABLE' },
  { name: 'BMC busy', stderr: 'Get Chassis Power Status failed: Node busy\n', exit: 1, code: 'TIMEOUT' },
  { name: 'silent non-zero exit', stderr: NOISE, exit: 1, code: 'BMC_ERROR' },
];

for (const row of TABLE) {
  test(`ipmitool stderr: ${row.name} → ${row.code ?? 'success'}`, () => {
    const got = classifyIpmitool(row.stderr, row.exit);
    assert.equal(got?.code, row.code);
    if (row.cipher !== undefined) assert.equal(got?.cipher, row.cipher);
  });
}

test('power status parsing', () => {
  assert.equal(parsePowerStatus('Chassis Power is on\n'), 'on');
  assert.equal(parsePowerStatus('Chassis Power is off\n'), 'off');
  assert.equal(parsePowerStatus('garbage'), undefined);
});

function fakeExec(script: (args: string[]) => Partial<IpmiRun>): { exec: IpmiExec; runs: { args: string[]; env: NodeJS.ProcessEnv }[] } {
  const runs: { args: string[]; env: NodeJS.ProcessEnv }[] = [];
  const exec: IpmiExec = async (_file, args, env) => {
    runs.push({ args, env });
    return { stdout: '', stderr: '', exitCode: 0, timedOut: false, notFound: false, ...script(args) };
  };
  return { exec, runs };
}

const PW = 'Pa55-in-env-only';
const base = { machine: 'n1', address: '10.1.1.1', username: 'admin', password_env: 'PW' };

test('the password goes only through IPMI_PASSWORD (-E), never argv; -C, -N, -R, -v are given', async () => {
  const { exec, runs } = fakeExec(() => ({ stdout: 'Chassis Power is on\n' }));
  const d = new IpmiDriver(base, { env: { PW }, exec });
  assert.equal(await d.getPowerState(), 'on');
  const { args, env } = runs[0]!;
  assert.ok(!args.join(' ').includes(PW));
  assert.ok(!args.includes('-P'));
  assert.equal(env.IPMI_PASSWORD, PW);
  assert.equal(env.LC_ALL, 'C');
  for (const f of ['-E', '-v']) assert.ok(args.includes(f), f);
  assert.deepEqual(args.slice(args.indexOf('-C'), args.indexOf('-C') + 2), ['-C', '17']);
  assert.ok(args.includes('-N') && args.includes('-R'));
  assert.deepEqual(args.slice(0, 6), ['-I', 'lanplus', '-H', '10.1.1.1', '-p', '623']);
  assert.equal(d.bmcKey, '10.1.1.1:623');
});

test('cipher refusal → one retry with the fallback suite, remembered for the next call', async () => {
  const { exec, runs } = fakeExec((args) => (args.includes('17')
    ? { exitCode: 1, stderr: 'Error in open session response message : invalid authentication algorithm\n' }
    : { stdout: 'Chassis Power is off\n' }));
  const d = new IpmiDriver(base, { env: { PW }, exec });
  assert.equal(await d.getPowerState(), 'off');
  await d.getPowerState();
  assert.deepEqual(runs.map((r) => r.args[r.args.indexOf('-C') + 1]), ['17', '3', '3']);
});

test('boot device: pxe once, efiboot for UEFI; disk', async () => {
  const { exec, runs } = fakeExec(() => ({ stdout: 'Set Boot Device to pxe\n' }));
  const d = new IpmiDriver(base, { env: { PW }, exec });
  await d.setBootDevice({ device: 'pxe', mode: 'uefi', persistent: false });
  await d.setBootDevice({ device: 'disk', mode: 'legacy', persistent: false });
  assert.deepEqual(runs.map((r) => r.args.slice(r.args.indexOf('chassis'))), [['chassis', 'bootdev', 'pxe', 'options=efiboot'], ['chassis', 'bootdev', 'disk']]);
});

test('reboot of a machine that is off powers it on (BMCs refuse cycle when off)', async () => {
  const { exec, runs } = fakeExec((args) => (args.includes('status') ? { stdout: 'Chassis Power is off\n' } : {}));
  await new IpmiDriver(base, { env: { PW }, exec }).reboot();
  assert.deepEqual(runs.map((r) => r.args.at(-1)), ['status', 'on']);
});

test('timeout and a missing ipmitool are clear errors', async () => {
  const t = new IpmiDriver(base, { env: { PW }, exec: fakeExec(() => ({ timedOut: true, exitCode: -1 })).exec });
  await assert.rejects(t.getPowerState(), (e: PowerError) => e.code === 'TIMEOUT');
  const n = new IpmiDriver(base, { env: { PW }, exec: fakeExec(() => ({ notFound: true, exitCode: -1 })).exec });
  await assert.rejects(n.getPowerState(), (e: PowerError) => e.code === 'CONFIG' && /ipmitool is not installed/.test(e.message));
});

test('a BMC message that echoes the password is scrubbed', async () => {
  const { exec } = fakeExec(() => ({ exitCode: 1, stderr: `Error: weird BMC said ${PW}\n` }));
  const err = await new IpmiDriver(base, { env: { PW }, exec }).getPowerState().catch((e: unknown) => e as PowerError);
  assert.ok(err instanceof PowerError);
  assert.ok(!err.message.includes(PW) && !JSON.stringify(err).includes(PW));
  assert.match(err.message, /\[redacted\]/);
});
