// WoL, manual, and the factory from a stored power section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { magicPacket, interfaceBroadcast, WolDriver } from '../../daemon/power/wol.js';
import { ManualDriver } from '../../daemon/power/manual.js';
import { createDriver, createManagedPower } from '../../daemon/power/index.js';
import { PowerError } from '../../daemon/power/errors.js';
import { KeyedQueue } from '../../daemon/power/queue.js';

test('magic packet: 6 × 0xff then the MAC 16 times (102 bytes)', () => {
  const p = magicPacket('52:54:00:12:34:56');
  assert.equal(p.length, 102);
  assert.deepEqual([...p.subarray(0, 6)], [255, 255, 255, 255, 255, 255]);
  for (let i = 0; i < 16; i++) assert.equal(p.subarray(6 + i * 6, 12 + i * 6).toString('hex'), '525400123456');
  assert.throws(() => magicPacket('52:54:00'));
});

test('wol sends the packet by UDP (three copies), state unknown, off unsupported', async () => {
  const rx = createSocket('udp4');
  const got: Buffer[] = [];
  rx.on('message', (m) => got.push(m));
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  const d = new WolDriver({ machine: 'w1', mac: '52:54:00:aa:bb:cc', broadcast: '127.0.0.1', port: rx.address().port });
  await d.validate();
  await d.setPowerState('on');
  await new Promise((r) => setTimeout(r, 100));
  rx.close();
  assert.equal(got.length, 3);
  assert.deepEqual(got[0], magicPacket('52:54:00:aa:bb:cc'));
  assert.equal(await d.getPowerState(), 'unknown');
  await assert.rejects(d.setPowerState('off'), (e: PowerError) => e.code === 'UNSUPPORTED');
  await d.setBootDevice({ device: 'pxe', persistent: false }); // nothing to do, no error
});

test('wol through the wrapper: on sends, no polling (state unknown); cycle is a wake-up', async () => {
  const rx = createSocket('udp4');
  let n = 0;
  rx.on('message', () => n++);
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
  const p = createManagedPower({ name: 'w1', mac: '52:54:00:aa:bb:cc', power: { driver: 'wol', broadcast: '127.0.0.1', port: rx.address().port } }, {}, { queue: new KeyedQueue() });
  assert.equal(await p.on(), 'unknown');
  assert.equal(await p.cycle(), 'unknown');
  await new Promise((r) => setTimeout(r, 100));
  rx.close();
  assert.equal(n, 6);
});

test('interface broadcast from address and netmask', () => {
  const fake = { prov0: [{ family: 'IPv4', address: '10.20.0.1', netmask: '255.255.255.0' }], lo: [{ family: 'IPv4', address: '127.0.0.1', netmask: '255.0.0.0' }] } as unknown as ReturnType<typeof import('node:os').networkInterfaces>;
  assert.equal(interfaceBroadcast('prov0', fake), '10.20.0.255');
  assert.equal(interfaceBroadcast('lo', fake), '127.255.255.255');
  assert.equal(interfaceBroadcast('nope', fake), undefined);
});

test('manual: each call records what the operator must do; state unknown', async () => {
  const said: string[] = [];
  const d = new ManualDriver({ machine: 'm1', mac: '52:54:00:00:00:01', onInstruction: (t) => said.push(t) });
  await d.setBootDevice({ device: 'pxe', mode: 'uefi', persistent: false });
  await d.setPowerState('on');
  await d.reboot();
  assert.equal(await d.getPowerState(), 'unknown');
  assert.deepEqual(said, [
    'make m1 (52:54:00:00:00:01) boot from the network (PXE) in UEFI mode on its next start',
    'power on m1 (52:54:00:00:00:01) by hand',
    'power cycle m1 (52:54:00:00:00:01) by hand (on, if it is off)',
  ]);
  assert.deepEqual(d.instructions, said);
});

test('factory: each driver from its stored power section; missing pieces are CONFIG errors', () => {
  const m = (power: Record<string, unknown>) => ({ name: 'n1', mac: '52:54:00:00:00:01', power: power as { driver: string } });
  assert.equal(createDriver(m({ driver: 'ipmi', address: '10.0.0.5', port: 623, username: 'a', password_env: 'X', cipher_suite: 17 })).bmcKey, '10.0.0.5:623');
  assert.equal(createDriver(m({ driver: 'redfish', address: '10.0.0.6', username: 'a', password_env: 'X' })).bmcKey, '10.0.0.6:443');
  assert.equal(createDriver(m({ driver: 'redfish', address: '10.0.0.6', port: 8443, username: 'a', password_env: 'X' })).bmcKey, '10.0.0.6:8443');
  assert.equal(createDriver(m({ driver: 'wol' }), { siteBroadcast: '10.20.0.255' }).kind, 'wol');
  assert.equal(createDriver(m({ driver: 'manual' })).kind, 'manual');
  assert.throws(() => createDriver(m({ driver: 'wol' })), (e: PowerError) => e.code === 'CONFIG' && /broadcast/.test(e.message));
  assert.throws(() => createDriver(m({ driver: 'ipmi', username: 'a' })), (e: PowerError) => e.code === 'CONFIG' && /power.address/.test(e.message));
  assert.throws(() => createDriver(m({ driver: 'snmp' })), (e: PowerError) => e.code === 'CONFIG' && /unknown power driver "snmp"/.test(e.message));
});
