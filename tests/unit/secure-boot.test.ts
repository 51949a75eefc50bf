// Secure Boot's pure parts: who gets the signed chain (machine over profile over site), the DHCP
// decision for such a machine, GRUB's configs from the boot plan, hostile text kept inert in
// GRUB's language, and the firmware facts' bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideBoot, clientFacts, type BootSite, type ClientFacts } from '../../daemon/dhcp/bootfile.js';
import { Options, Opt } from '../../daemon/dhcp/options.js';
import { chaddrFromMac } from '../../daemon/dhcp/packet.js';
import { planBoot, type ScriptOperation } from '../../daemon/http/ipxe.js';
import { grubFile, grubStaticConfig, grubText, renderGrubConfig, GRUB_MACHINE_CONFIG } from '../../daemon/http/grub.js';
import { secureBootLookup, secureBootOf } from '../../daemon/core/secure-boot.js';
import { inventorySchema, type Profile } from '../../daemon/core/inventory/schema.js';
import { boundFacts } from '../../daemon/core/facts-bounds.js';
import type { State } from '../../daemon/core/lifecycle.js';

const MAC = '52:54:00:00:01:01';
const site: BootSite = { serverAddress: '10.20.0.1', httpPort: 8080, discovery: false, bootFiles: { 7: 'snponly.efi' } };

function facts(arch: number | undefined, vc: string, uc?: string): ClientFacts {
  const opts = new Options().setU8(Opt.MESSAGE_TYPE, 1);
  if (arch !== undefined) opts.setU16(Opt.CLIENT_ARCH, arch);
  opts.setString(Opt.VENDOR_CLASS, vc);
  if (uc) opts.setString(Opt.USER_CLASS, uc);
  return clientFacts({ op: 1, htype: 1, hlen: 6, hops: 0, xid: 1, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: chaddrFromMac(MAC), sname: '', file: '', options: opts }, MAC);
}

test('a Secure Boot machine gets the signed shim over TFTP on UEFI x86-64, iPXE elsewhere', () => {
  const sb = { name: 'node-01', mac: MAC, secureBoot: true };
  for (const arch of [6, 7, 9]) {
    assert.deepEqual(decideBoot(facts(arch, `PXEClient:Arch:0000${arch}:UNDI:003000`), site, sb),
      { boot: true, kind: 'tftp', nextServer: '10.20.0.1', file: 'shimx64.efi', vendorClass: undefined }, `arch ${arch}`);
  }
  // site.boot_files does not override the signed loader; it still applies to the others.
  assert.equal((decideBoot(facts(7, 'PXEClient'), site, { name: 'n', mac: MAC }) as { file: string }).file, 'snponly.efi');
  // BIOS has no Secure Boot: iPXE as ever.
  assert.equal((decideBoot(facts(0, 'PXEClient'), site, sb) as { file: string }).file, 'undionly.kpxe');
  // iPXE (a NIC ROM with Secure Boot off) still gets its script, never a loader.
  assert.equal((decideBoot(facts(7, 'PXEClient', 'iPXE'), site, sb) as { kind: string }).kind, 'script');
  // HTTP Boot cannot carry the chain through Debian's GRUB (no http module): not answered, with the reason.
  const http = decideBoot(facts(16, 'HTTPClient:Arch:00016:UNDI:003000'), site, sb);
  assert.equal(http.boot, false);
  assert.match((http as { reason: string }).reason, /node-01 boots Secure Boot's signed GRUB.*no http module.*arch 16/);
  // …while a machine without Secure Boot boots HTTP as before.
  assert.equal((decideBoot(facts(16, 'HTTPClient'), site, { name: 'n', mac: MAC }) as { file: string }).file, 'http://10.20.0.1:8080/boot/ipxe.efi');
});

test('secure_boot: the machine overrides its profile, which overrides the site', () => {
  const inv = inventorySchema.parse({
    site: { interface: 'prov0', address: '10.20.0.1', dhcp: { mode: 'full', subnet: '10.20.0.0/24' }, secure_boot: true },
    profiles: {
      plain: { kind: 'image', image: { url: 'images/a.raw', sha256: 'a'.repeat(64) }, secure_boot: false },
      inherit: { kind: 'image', image: { url: 'images/a.raw', sha256: 'a'.repeat(64) } },
    },
    machines: [
      { name: 'a', mac: '52:54:00:00:00:01', profile: 'plain' },
      { name: 'b', mac: '52:54:00:00:00:02', profile: 'plain', secure_boot: true },
      { name: 'c', mac: '52:54:00:00:00:03', profile: 'inherit' },
      { name: 'd', mac: '52:54:00:00:00:04', secure_boot: false },
    ],
  });
  const lookup = secureBootLookup(inv as never);
  assert.deepEqual(['a', 'b', 'c', 'd', 'discovered-525400000099'].map(lookup), [false, true, true, false, true]);
  assert.equal(secureBootOf({ ...inv, site: { ...inv.site, secure_boot: false } } as never, undefined), false, 'the site default is off');
  assert.equal(inventorySchema.parse({ site: { interface: 'p', address: '10.0.0.1', dhcp: { mode: 'proxy' } } }).site.secure_boot, false);
  assert.equal(inventorySchema.safeParse({ site: { interface: 'p', address: '10.0.0.1', dhcp: { mode: 'proxy' }, secure_boot: 'yes' } }).success, false, 'validated: a boolean');
});

const grubSite = { baseUrl: 'http://10.20.0.1:8080', tftpServer: '10.20.0.1' };
const machine = (state: State, lastError: string | null = null) => ({ name: 'node-01', mac: MAC, state, lastError });
const op = (kind: string): ScriptOperation => ({ kind, progress: { done: [] } });

test('GRUB: the static config sources the machine\'s own, by its MAC, from the folder GRUB came from', () => {
  const cfg = grubStaticConfig();
  assert.match(cfg, /^source "\$\{prefix\}\/\$\{net_default_mac\}\.cfg"$/m);
  assert.ok(GRUB_MACHINE_CONFIG.test(`grub/${MAC}.cfg`));
  assert.ok(!GRUB_MACHINE_CONFIG.test('grub/../x.cfg') && !GRUB_MACHINE_CONFIG.test('grub/grub.cfg'));
});

test('GRUB: the agent config, in full, from the same plan as the iPXE script', () => {
  const plan = planBoot({ mac: MAC, machine: machine('inspecting'), operation: op('inspect'), profile: undefined,
    site: { baseUrl: grubSite.baseUrl, agentArgs: 'console=ttyS0' }, nonce: 'NONCE0123456789abcdef' });
  assert.equal(renderGrubConfig(plan, grubSite), [
    '# Rackhand: node-01 is inspecting: the agent runs inspect',
    "echo 'Rackhand: node-01 is inspecting: the agent runs inspect'",
    'linux (tftp,10.20.0.1)/agent/vmlinuz rackhand.url=http://10.20.0.1:8080 rackhand.nonce=NONCE0123456789abcdef console=ttyS0',
    'initrd (tftp,10.20.0.1)/agent/initrd.img',
    'boot',
    "echo 'Rackhand: boot failed, retrying in 10 seconds'",
    'sleep 10',
    'reboot',
    '',
  ].join('\n'));
});

test('GRUB: local boot starts the disk\'s own loader, else exits to the firmware; a refusal says why and exits', () => {
  const local = renderGrubConfig(planBoot({ mac: MAC, machine: machine('deployed'), operation: undefined, profile: undefined, site: { baseUrl: grubSite.baseUrl, agentArgs: '' } }), grubSite);
  assert.match(local, /booting from its own disk'\nfor loader in \/EFI\/BOOT\/BOOTX64\.EFI .*; do\n  if search --no-floppy --file --set=root \$loader; then chainloader \$loader; boot; fi\ndone\nexit 1\n$/);
  assert.doesNotMatch(local, /^linux/m);
  const refused = renderGrubConfig(planBoot({ mac: MAC, machine: undefined, operation: undefined, profile: undefined, site: { baseUrl: grubSite.baseUrl, agentArgs: '' } }), grubSite);
  assert.match(refused, /not a machine Rackhand manages.*'\nsleep 5\nexit 1\n$/s);
});

test('GRUB: an installer whose kernel is elsewhere (http/https URL) cannot be reached by signed GRUB: said, not booted', () => {
  const installer: Profile = { kind: 'installer', kernel: 'installers/debian/linux', initrd: 'https://mirror.example/initrd.gz', cmdline: '', answer: 'x.j2' };
  const plan = planBoot({ mac: MAC, machine: machine('deploying'), operation: op('deploy'), profile: installer, site: { baseUrl: grubSite.baseUrl, agentArgs: '' }, installerArgs: 'auto=true' });
  const cfg = renderGrubConfig(plan, grubSite);
  assert.match(cfg, /cannot boot: the kernel or initrd is not a file Rackhand serves over TFTP/);
  assert.doesNotMatch(cfg, /^(linux|initrd|boot)\b/m);
  assert.equal(grubFile('http://10.20.0.1:8080/boot/installers/debian/linux', grubSite), '(tftp,10.20.0.1)/installers/debian/linux');
  assert.equal(grubFile('http://10.20.0.1:8081/boot/x', grubSite), undefined, 'another server is not this TFTP server');
});

const LOCAL_BLOCK = renderGrubConfig({ kind: 'local', why: 'x' }, grubSite).split('\n').slice(2, 5).join('\n') + '\n';

// What GRUB's script language gives meaning to: quotes and escapes, variables, command
// separators and grouping, redirections, comments, line ends.
const HOSTILE = [
  "x'; reboot; echo '", 'x"; reboot', '${prefix}', '$(reboot)', 'a\nlinux (tftp,6.6.6.6)/evil', 'a\r\nboot', 'a\\\nb',
  'a && reboot', 'a || reboot', 'a | b', '{ reboot; }', '<x >y', '# comment', '`reboot`', '\u2028insmod http', 'a\u0000b',
];

test('GRUB: hostile text (a machine\'s error, a rendered installer line) stays one inert quoted word or a safe argument', () => {
  for (const evil of HOSTILE) {
    const text = grubText(evil);
    assert.match(text, /^'[^'\\$\n\r;|&{}<>`"]*'$/, JSON.stringify(evil));
    const failed = renderGrubConfig(planBoot({ mac: MAC, machine: machine('failed', evil), operation: undefined, profile: undefined, site: { baseUrl: grubSite.baseUrl, agentArgs: '' } }), grubSite);
    const installer: Profile = { kind: 'installer', kernel: 'installers/l', initrd: 'installers/i', cmdline: '', answer: 'x.j2' };
    const deploying = renderGrubConfig(planBoot({ mac: MAC, machine: machine('deploying'), operation: op('deploy'), profile: installer,
      site: { baseUrl: grubSite.baseUrl, agentArgs: evil }, installerArgs: `auto=true ${evil}` }), grubSite);
    for (const whole of [failed, deploying]) {
      // Local boot's loop is Rackhand's own fixed text (checked whole above): set aside, the rest must be inert.
      const cfg = whole.replace(LOCAL_BLOCK, '');
      assert.ok(whole === failed ? whole.includes(LOCAL_BLOCK) : true);
      const lines = cfg.trimEnd().split('\n');
      // Only Rackhand's own commands, each on its own line, and nothing GRUB would expand or split.
      for (const line of lines) assert.match(line, /^(# |echo '|linux \(tftp,|initrd \(tftp,|boot$|sleep \d+$|reboot$|exit 1$)/, `${JSON.stringify(evil)}: ${line}`);
      assert.doesNotMatch(cfg, /[$;|&{}<>`"\\\r\u2028\u0000]/, JSON.stringify(evil));
      assert.ok(lines.filter((l) => l.startsWith('linux')).length <= 1, 'one linux line at most');
    }
  }
});

test('firmware facts: exactly { uefi, secure_boot } booleans; anything else refused by its path', () => {
  assert.deepEqual(boundFacts({ cpus: 1, firmware: { uefi: true, secure_boot: true } }), { ok: true, facts: { cpus: 1, firmware: { uefi: true, secure_boot: true } } });
  assert.equal(boundFacts({ firmware: { uefi: false, secure_boot: false } }).ok, true);
  for (const bad of [{ uefi: 'yes', secure_boot: true }, { uefi: true }, { uefi: true, secure_boot: false, extra: 1 }, [true, true], 'on', { uefi: false, secure_boot: true }]) {
    const v = boundFacts({ firmware: bad });
    assert.equal(v.ok, false, JSON.stringify(bad));
    assert.equal((v as { path: string }).path, 'facts.firmware');
  }
  // A nested key of the same name is just a fact.
  assert.equal(boundFacts({ nics: [{ firmware: 'x' }] }).ok, true);
});
