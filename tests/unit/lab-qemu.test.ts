// The lab's QEMU command lines and radvd configuration (pure): how a one-time network boot is
// expressed for each firmware, and an advertisement that configures nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qemuArgs, UEFI_DEVICE_IDS } from '../../daemon/lab/qemu.js';
import { radvdConfig } from '../../daemon/lab/router-adverts.js';

const base = { name: 'vm', mac: '52:54:00:00:01:02', net: { kind: 'tap' as const, ifname: 'tap2' }, disk: '/tmp/d.raw' };
const device = (argv: string[], driver: string) => argv.find((a) => a.startsWith(`${driver},`))!;

test('UEFI: the disk first unless a network boot is asked for once; devices have QOM ids', () => {
  const normal = qemuArgs({ ...base, firmware: 'uefi' });
  assert.match(device(normal, 'virtio-blk-pci'), new RegExp(`id=${UEFI_DEVICE_IDS.c},bootindex=0$`));
  assert.match(device(normal, 'virtio-net-pci'), new RegExp(`id=${UEFI_DEVICE_IDS.n},bootindex=1$`));
  const once = qemuArgs({ ...base, firmware: 'uefi', bootOnce: 'n' });
  assert.match(device(once, 'virtio-net-pci'), /bootindex=0$/);
  assert.match(device(once, 'virtio-blk-pci'), /bootindex=1$/);
  assert.ok(!once.includes('-boot'), 'OVMF ignores -boot');
});

test('nicRom false: the NIC has no option ROM (the firmware\'s own PXE boots); default keeps QEMU\'s', () => {
  assert.match(device(qemuArgs({ ...base, firmware: 'uefi', nicRom: false }), 'virtio-net-pci'), /,romfile=,id=nic0,/);
  assert.doesNotMatch(device(qemuArgs({ ...base, firmware: 'uefi' }), 'virtio-net-pci'), /romfile/);
});

test('BIOS: -boot once, no bootindex', () => {
  const argv = qemuArgs({ ...base, firmware: 'bios', bootOnce: 'n' });
  assert.deepEqual(argv.slice(argv.indexOf('-boot'), argv.indexOf('-boot') + 2), ['-boot', 'once=n']);
  assert.ok(!argv.some((a) => a.includes('bootindex')));
});

test('radvd: advertises on the interface, offers no prefix, no default route, no DHCPv6', () => {
  const conf = radvdConfig('prov0');
  assert.match(conf, /^interface prov0 \{$/m);
  assert.match(conf, /AdvSendAdvert on;/);
  assert.match(conf, /AdvDefaultLifetime 0;/);
  assert.match(conf, /AdvManagedFlag off;/);
  assert.match(conf, /AdvOtherConfigFlag off;/);
  assert.doesNotMatch(conf, /prefix|route|RDNSS/i);
});
