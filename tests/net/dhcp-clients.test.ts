// Full mode against real clients in network namespaces: busybox udhcpc and ISC dhclient, as BIOS,
// UEFI and UEFI-HTTP PXE firmware and as iPXE, get the right address, next-server and file; an
// unknown MAC gets nothing; the pool skips an address that is in use on the wire.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Netns, twoHostLink, type Link } from '../lib/netns.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { SITE, startServer, type ServerChild } from '../lib/dhcp-server.js';
import { dhclient, setMac, udhcpc } from '../lib/dhcp-clients.js';
import { removableTempDir } from '../lib/tmp.js';

const MACHINES = [
  { name: 'bios', mac: '52:54:00:00:00:10', ip: '10.20.0.10' },
  { name: 'uefi7', mac: '52:54:00:00:00:17', ip: '10.20.0.17' },
  { name: 'uefi9', mac: '52:54:00:00:00:19', ip: '10.20.0.19' },
  { name: 'http16', mac: '52:54:00:00:00:16', ip: '10.20.0.16' },
  { name: 'ipxe', mac: '52:54:00:00:00:20', ip: '10.20.0.20' },
  { name: 'pooled', mac: '52:54:00:00:00:30' },
  { name: 'pooled2', mac: '52:54:00:00:00:31' },
];
const ARCHS = [
  { machine: 'bios', arch: 0, vendor: 'PXEClient:Arch:00000:UNDI:002001', siaddr: '10.20.0.1', file: 'undionly.kpxe' },
  { machine: 'uefi7', arch: 7, vendor: 'PXEClient:Arch:00007:UNDI:003000', siaddr: '10.20.0.1', file: 'ipxe.efi' },
  { machine: 'uefi9', arch: 9, vendor: 'PXEClient:Arch:00009:UNDI:003000', siaddr: '10.20.0.1', file: 'ipxe.efi' },
  { machine: 'http16', arch: 16, vendor: 'HTTPClient:Arch:00016:UNDI:003000', siaddr: '10.20.0.1', file: 'http://10.20.0.1:8080/boot/ipxe.efi' },
];
const macOf = (name: string) => MACHINES.find((m) => m.name === name)!.mac;
const ipOf = (name: string) => MACHINES.find((m) => m.name === name)!.ip;

let link: Link;
let server: ServerChild;
let tmp: ReturnType<typeof removableTempDir>;

before(async () => {
  tmp = removableTempDir('clients');
  link = await twoHostLink({ tag: 'dhcpc', serverIf: 'prov0', serverAddress: '10.20.0.1' });
  server = await startServer(link.server, tmp.dir, { site: SITE, machines: MACHINES });
});
after(async () => {
  await server?.stop();
  await link?.close();
  tmp?.remove();
});

for (const a of ARCHS) {
  test(`udhcpc as arch ${a.arch} gets ${a.file} from ${a.siaddr}`, async () => {
    await setMac(link.client, 'eth0', macOf(a.machine));
    const lease = await udhcpc(link.client, tmp.dir, { vendor: a.vendor, arch: a.arch });
    assert.ok(lease, `no lease; server stderr: ${server.stderr().slice(-1000)}`);
    assert.equal(lease.ip, ipOf(a.machine));
    assert.equal(lease.siaddr, a.siaddr);
    assert.equal(lease.boot_file, a.file);
    assert.equal(lease.serverid, '10.20.0.1');
  });
  test(`dhclient as arch ${a.arch} gets ${a.file} from ${a.siaddr}`, async () => {
    await setMac(link.client, 'eth0', macOf(a.machine));
    const lease = await dhclient(link.client, tmp.dir, { vendor: a.vendor, arch: a.arch });
    assert.ok(lease, 'no lease');
    assert.equal(lease.new_ip_address, ipOf(a.machine));
    assert.equal(lease.new_next_server, a.siaddr);
    assert.equal(lease.new_filename, a.file);
  });
}

test('an iPXE client (user class iPXE) gets its script URL, with udhcpc and dhclient', async () => {
  await setMac(link.client, 'eth0', macOf('ipxe'));
  const url = `http://10.20.0.1:8080/boot/${macOf('ipxe')}.ipxe`;
  const u = await udhcpc(link.client, tmp.dir, { vendor: 'PXEClient:Arch:00000:UNDI:002001', arch: 0, userClass: 'iPXE' });
  assert.equal(u?.boot_file, url);
  const d = await dhclient(link.client, tmp.dir, { vendor: 'PXEClient:Arch:00007:UNDI:003000', arch: 7, userClass: 'iPXE' });
  assert.equal(d?.new_filename, url);
});

test('an unknown MAC receives nothing', async () => {
  await setMac(link.client, 'eth0', '52:54:00:de:ad:01');
  const before = await server.drops('unmanaged');
  const lease = await udhcpc(link.client, tmp.dir, { vendor: 'PXEClient:Arch:00000:UNDI:002001', arch: 0, tries: 2 });
  assert.equal(lease, undefined);
  assert.ok((await server.drops('unmanaged')) >= before + 2);
});

test('a non-PXE client of a managed machine gets its address and no loader', async () => {
  await setMac(link.client, 'eth0', macOf('bios'));
  const lease = await udhcpc(link.client, tmp.dir, {});
  assert.equal(lease?.ip, ipOf('bios'));
  assert.equal(lease?.boot_file ?? '', '');
});

test('the pool never hands out an address in use: leased, reserved, or answering ARP', async () => {
  // 10.20.0.100 answers ARP on the wire (the server side holds it), so udhcpc -a declines it;
  // the server must then offer another address and never .100 again.
  await link.server.ip('addr', 'add', '10.20.0.100/32', 'dev', 'prov0');
  await setMac(link.client, 'eth0', macOf('pooled'));
  const first = await udhcpc(link.client, tmp.dir, { arp: true, tries: 4 });
  assert.ok(first, 'no lease after DECLINE');
  assert.notEqual(first.ip, '10.20.0.100');
  assert.ok((await server.metrics())['rackhand_dhcp_messages_total{type=DECLINE}']! >= 1, 'udhcpc sent no DECLINE');
  await setMac(link.client, 'eth0', macOf('pooled2'));
  const second = await udhcpc(link.client, tmp.dir, {});
  assert.ok(second);
  assert.notEqual(second.ip, first.ip);
  assert.notEqual(second.ip, '10.20.0.100');
  // Both leases are in the SQLite file.
  const store = await openSqliteStore(`${tmp.dir}/rackhand.db`);
  try {
    const leases = await store.listLeases();
    assert.equal(leases.find((l) => l.mac === macOf('pooled'))?.ip, first.ip);
    assert.equal(leases.find((l) => l.mac === macOf('pooled2'))?.ip, second.ip);
  } finally {
    await store.close();
  }
});

test('a client on another interface of the server host is not heard (bound to site.interface only)', async () => {
  const other = await Netns.create('dhcpo');
  try {
    await link.server.ip('link', 'add', 'other0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', other.name);
    await link.server.ip('addr', 'add', '10.99.0.1/24', 'dev', 'other0');
    await link.server.ip('link', 'set', 'other0', 'up');
    await other.ip('link', 'set', 'eth0', 'address', macOf('bios'));
    await other.ip('link', 'set', 'eth0', 'up');
    const before = (await server.metrics())['rackhand_dhcp_messages_total{type=DISCOVER}'] ?? 0;
    const lease = await udhcpc(other, tmp.dir, { vendor: 'PXEClient:Arch:00000:UNDI:002001', arch: 0, tries: 2 });
    assert.equal(lease, undefined);
    assert.equal((await server.metrics())['rackhand_dhcp_messages_total{type=DISCOVER}'] ?? 0, before, 'the server saw packets from other0');
  } finally {
    await other.delete();
  }
});
