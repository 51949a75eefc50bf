// The boot decision as a table keyed by scenario: what the client says → the full decision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideBoot, clientFacts, ipxeScriptUrl, type BootDecision, type ClientFacts, type BootSite } from '../../daemon/dhcp/bootfile.js';
import { Options, Opt } from '../../daemon/dhcp/options.js';
import { chaddrFromMac } from '../../daemon/dhcp/packet.js';

const MAC = '52:54:00:00:01:01';
const site: BootSite = { serverAddress: '10.20.0.1', httpPort: 8080, discovery: false, bootFiles: { 11: 'grubnetaa64.efi' } };
const machine = { name: 'node-01', mac: MAC };

function facts(o: { arch?: number; vc?: string; uc?: string; opt175?: boolean }): ClientFacts {
  const opts = new Options().setU8(Opt.MESSAGE_TYPE, 1);
  if (o.arch !== undefined) opts.setU16(Opt.CLIENT_ARCH, o.arch);
  if (o.vc) opts.setString(Opt.VENDOR_CLASS, o.vc);
  if (o.uc) opts.setString(Opt.USER_CLASS, o.uc);
  if (o.opt175) opts.set(Opt.IPXE_ENCAP, Buffer.from([0x13, 1, 1, 255]));
  return clientFacts({ op: 1, htype: 1, hlen: 6, hops: 0, xid: 1, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: chaddrFromMac(MAC), sname: '', file: '', options: opts }, MAC);
}
const tftp = (file: string): BootDecision => ({ boot: true, kind: 'tftp', nextServer: '10.20.0.1', file, vendorClass: undefined });
const script: BootDecision = { boot: true, kind: 'script', nextServer: '10.20.0.1', file: `http://10.20.0.1:8080/boot/${MAC}.ipxe`, vendorClass: undefined };
// iPXE that says PXEClient gets PXEClient back, so it requests without waiting for ProxyDHCP.
const pxeScript: BootDecision = { ...script, vendorClass: 'PXEClient' };

const scenarios: Record<string, { client: ClientFacts; site?: BootSite; known?: boolean; want: BootDecision }> = {
  'BIOS PXE (arch 0)': { client: facts({ arch: 0, vc: 'PXEClient:Arch:00000:UNDI:002001' }), want: tftp('undionly.kpxe') },
  'UEFI x86 (arch 6)': { client: facts({ arch: 6, vc: 'PXEClient:Arch:00006:UNDI:003000' }), want: tftp('ipxe.efi') },
  'UEFI x64 (arch 7)': { client: facts({ arch: 7, vc: 'PXEClient:Arch:00007:UNDI:003000' }), want: tftp('ipxe.efi') },
  'UEFI EBC (arch 9)': { client: facts({ arch: 9, vc: 'PXEClient:Arch:00009:UNDI:003000' }), want: tftp('ipxe.efi') },
  'UEFI HTTP boot (arch 16, HTTPClient)': {
    client: facts({ arch: 16, vc: 'HTTPClient:Arch:00016:UNDI:003000' }),
    want: { boot: true, kind: 'http', nextServer: '10.20.0.1', file: 'http://10.20.0.1:8080/boot/ipxe.efi', vendorClass: 'HTTPClient' },
  },
  'arch 16 without HTTPClient': {
    client: facts({ arch: 16, vc: 'PXEClient:Arch:00016' }),
    want: { boot: false, reason: 'client arch 16 boots over HTTP but its vendor class is "PXEClient:Arch:00016", not HTTPClient' },
  },
  'arm64 UEFI (arch 11) from site.boot_files': { client: facts({ arch: 11, vc: 'PXEClient:Arch:00011:UNDI:003000' }), want: tftp('grubnetaa64.efi') },
  'arm64 UEFI (arch 11) without a site entry': {
    client: facts({ arch: 11, vc: 'PXEClient:Arch:00011:UNDI:003000' }), site: { ...site, bootFiles: {} },
    want: { boot: false, reason: 'no loader for client arch 11: add it to site.boot_files' },
  },
  'site.boot_files overrides arch 0': {
    client: facts({ arch: 0, vc: 'PXEClient' }), site: { ...site, bootFiles: { 0: 'snponly.kpxe' } }, want: tftp('snponly.kpxe'),
  },
  'a URL in boot_files for a TFTP client': {
    client: facts({ arch: 7, vc: 'PXEClient' }), site: { ...site, bootFiles: { 7: 'http://x/ipxe.efi' } },
    want: { boot: false, reason: 'site.boot_files.7 is a URL, which a TFTP (PXEClient) firmware cannot load' },
  },
  'unknown arch 2': { client: facts({ arch: 2, vc: 'PXEClient' }), want: { boot: false, reason: 'no loader for client arch 2: add it to site.boot_files' } },
  'PXE without option 93': { client: facts({ vc: 'PXEClient' }), want: { boot: false, reason: 'PXE client without option 93 (client architecture)' } },
  'iPXE by user class': { client: facts({ arch: 0, vc: 'PXEClient:Arch:00000:UNDI:002001', uc: 'iPXE' }), want: pxeScript },
  'iPXE by option 175 alone': { client: facts({ arch: 7, vc: 'PXEClient', opt175: true }), want: pxeScript },
  'iPXE on UEFI HTTP boot still gets its script': { client: facts({ arch: 16, vc: 'HTTPClient', uc: 'iPXE' }), want: script },
  'non-PXE client (an OS DHCP client)': {
    client: facts({ vc: 'udhcp 1.35.0' }), want: { boot: false, reason: 'not a PXE client (no PXEClient/HTTPClient vendor class, not iPXE)' },
  },
  'unknown MAC, discovery off': {
    client: facts({ arch: 0, vc: 'PXEClient' }), known: false,
    want: { boot: false, reason: `MAC ${MAC} is not in the inventory and discovery is off` },
  },
  'unknown MAC, discovery on': { client: facts({ arch: 0, vc: 'PXEClient' }), known: false, site: { ...site, discovery: true }, want: tftp('undionly.kpxe') },
};

for (const [name, s] of Object.entries(scenarios)) {
  test(`boot decision: ${name}`, () => {
    assert.deepEqual(decideBoot(s.client, s.site ?? site, s.known === false ? undefined : machine), s.want);
  });
}

test('the script URL has one shape', () => {
  assert.equal(ipxeScriptUrl({ serverAddress: '192.0.2.1', httpPort: 80 }, 'aa:bb:cc:dd:ee:ff'), 'http://192.0.2.1:80/boot/aa:bb:cc:dd:ee:ff.ipxe');
});
