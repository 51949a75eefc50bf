// Secure Boot end to end in QEMU (TCG): OVMF with Secure Boot on and Microsoft's keys enrolled
// (OVMF_CODE_4M.secboot.fd, OVMF_VARS_4M.ms.fd, SMM), a machine marked secure_boot, and
// `rackhand serve` in a network namespace. The firmware's own PXE client gets Debian's signed
// shim over TFTP; shim loads Debian's signed GRUB; GRUB reads grub/grub.cfg and then the
// machine's own grub/MAC.cfg from Rackhand's TFTP server and boots the signed Debian kernel with
// the agent's initrd; the agent (whose modules load under the kernel's lockdown) inspects the
// machine and reports Secure Boot on. The boot trace shows each step. Before that, the config's
// boot nonce is tampered with: the altered nonce buys nothing and changes nothing, and another
// address gets no config at all. Then the machine, ready, boots its disk through GRUB's local
// boot. Last, the Debian cloud image (build-debian-cloud.sh) boots its own shim → GRUB → signed
// kernel from disk under the same firmware, and with Secure Boot off.
// Run under `flock /tmp/rackhand-qemu.lock` like every QEMU suite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { REPO } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';
import { startAgentRig, VM, agentBuilt, type AgentRig } from '../lib/agent-vm.js';

const IMAGES = join(REPO, 'boot-images');
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.ms.fd';
const built = agentBuilt() && existsSync(join(IMAGES, 'shimx64.efi')) && existsSync(join(IMAGES, 'secure-boot/grubx64-disk.efi')) && existsSync(join(IMAGES, 'grubx64.efi')) && existsSync(OVMF_CODE);
const MAC = VM.mac;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DISK_BYTES = 64 << 20;
const DISK_MARK = 'RACKHAND-SECURE-BOOT-DISK';

/**
 * A GPT disk whose EFI system partition boots like an installed Debian under Secure Boot:
 * \\EFI\\BOOT\\BOOTX64.EFI is the signed shim, grubx64.efi beside it Debian's signed disk GRUB,
 * whose grub.cfg prints a mark and powers off. Built from files, without mounts.
 */
function espDisk(rig: AgentRig): string {
  const disk = join(rig.dir, 'disk.raw');
  const esp = join(rig.dir, 'esp.img');
  const cfg = join(rig.dir, 'grub.cfg');
  writeFileSync(disk, '');
  truncateSync(disk, DISK_BYTES);
  execFileSync('sfdisk', ['-q', disk], { input: 'label: gpt\nstart=2048, size=126976, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n' });
  execFileSync('mkfs.vfat', ['-C', esp, String(126976 / 2)]);
  writeFileSync(cfg, `echo '${DISK_MARK}'\nsleep 2\nhalt\n`);
  execFileSync('mmd', ['-i', esp, '::/EFI', '::/EFI/BOOT']);
  execFileSync('mcopy', ['-i', esp, join(IMAGES, 'shimx64.efi'), '::/EFI/BOOT/BOOTX64.EFI']);
  execFileSync('mcopy', ['-i', esp, join(IMAGES, 'secure-boot/grubx64-disk.efi'), '::/EFI/BOOT/grubx64.efi']);
  execFileSync('mcopy', ['-i', esp, cfg, '::/EFI/BOOT/grub.cfg']);
  execFileSync('dd', [`if=${esp}`, `of=${disk}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none']);
  return disk;
}

let rig: AgentRig;

before(async () => {
  if (!built) return;
  const images = join(tempDir('secure-boot-images'), 'boot-images');
  mkdirSync(images, { recursive: true });
  // Copies, not symlinks: TFTP refuses links that lead out of the images directory.
  for (const f of ['shimx64.efi', 'grubx64.efi']) copyFileSync(join(IMAGES, f), join(images, f));
  cpSync(join(IMAGES, 'agent'), join(images, 'agent'), { recursive: true });
  rig = await startAgentRig('sboot', {
    site: `  images_dir: ${images}\n`,
    rest: `machines:
  - name: node-01
    mac: ${MAC}
    ip: ${VM.ip}
    secure_boot: true
`,
  });
});

after(async () => { await rig?.close(); });

interface TraceEntry { kind: string; outcome: string; summary: string; detail: Record<string, unknown> }

test('Secure Boot: OVMF (MS keys) → signed shim → signed GRUB → signed kernel → the agent reports Secure Boot on; a tampered nonce buys nothing',
  { skip: !built && 'boot images or OVMF secboot firmware missing (make boot-images; apt ovmf)', timeout: 600_000 }, async () => {
    const started = Date.now();
    const api = rig.api;
    assert.equal((await api('POST', '/api/v1/machines/node-01/actions/inspect')).machine.state, 'inspecting');

    // The machine's GRUB config over TFTP, as its GRUB would fetch it: the agent, with a nonce.
    const cfgUrl = `tftp://10.20.0.1/grub/${MAC}.cfg`;
    const cfg = await rig.asMachine([cfgUrl]);
    assert.match(cfg, /^linux \(tftp,10\.20\.0\.1\)\/agent\/vmlinuz .*rackhand\.nonce=[\w-]{16,}/m, cfg);
    const nonce = /rackhand\.nonce=([\w-]+)/.exec(cfg)![1]!;
    // From any other address: no config (TFTP access violation), so no nonce.
    const stranger = await rig.ns.exec('curl', ['-sS', '-m', '10', cfgUrl]).then(() => 'served', (err: Error) => err.message);
    assert.match(stranger, /curl: \(69\)|access violation|TFTP/i, 'another address is refused');
    // A tampered nonce (one character changed), from the machine's own address: refused, and the
    // machine and its operation stay as they were.
    const tampered = nonce.slice(0, -1) + (nonce.endsWith('A') ? 'B' : 'A');
    const before = (await api('GET', '/api/v1/machines/node-01')).machine;
    const trade = await rig.asMachine(['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-d', `nonce=${tampered}`, 'http://10.20.0.1:8080/v1/agent/nonce']);
    assert.equal(trade, '403', 'the tampered nonce is refused');
    const afterTamper = (await api('GET', '/api/v1/machines/node-01')).machine;
    assert.equal(afterTamper.state, 'inspecting');
    assert.deepEqual(afterTamper.facts, before.facts);
    const events = (await api('GET', '/api/v1/events?machine=node-01')).events.map((e: { event: string }) => e.event);
    assert.ok(!events.includes('nonce_traded'), events.join(' '));
    const unchanged = Date.now();

    // The VM: Secure Boot firmware, its own PXE client (the NIC's iPXE ROM off) first, then its
    // disk: an ESP with Debian's signed shim and disk GRUB, whose config says it was booted.
    const vars = join(rig.dir, 'OVMF_VARS.fd');
    copyFileSync(OVMF_VARS, vars);
    const disk = espDisk(rig);
    const consoleOf = (serial: string) => (existsSync(serial) ? readFileSync(serial, 'utf8') : '');
    const boot = (label: string) => {
      const serial = join(rig.dir, `${label}.log`);
      const qemu: ChildProcess = rig.ns.spawn('qemu-system-x86_64', [
        '-accel', 'tcg', '-m', '512', '-nodefaults', '-display', 'none', '-no-reboot',
        '-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on',
        '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
        '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
        '-drive', `file=${disk},if=none,id=d0,format=raw`, '-device', 'virtio-blk-pci,drive=d0,bootindex=2',
        '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', '-device', `virtio-net-pci,netdev=n0,mac=${MAC},romfile=,bootindex=1`,
        '-serial', `file:${serial}`,
      ]);
      let stderr = '';
      qemu.stderr!.on('data', (d: Buffer) => { stderr += d; });
      qemu.stdout!.resume();
      return { qemu, console: () => consoleOf(serial), stderr: () => stderr };
    };
    const vm = boot('secure-boot-inspect');
    const qemu = vm.qemu;
    const qemuErr = vm.stderr;
    const consoleText = vm.console;
    let m: Record<string, any> = afterTamper;
    try {
      const deadline = Date.now() + 420_000;
      while (Date.now() < deadline && qemu.exitCode === null) {
        m = (await api('GET', '/api/v1/machines/node-01')).machine;
        if (m.state !== 'inspecting') break;
        await sleep(2000);
      }
    } finally {
      if (qemu.exitCode === null) qemu.kill('SIGKILL');
    }
    // The VM may have powered off between two looks: the state after it is the one that counts.
    m = (await api('GET', '/api/v1/machines/node-01')).machine;
    const log = consoleText();
    const seconds = Math.round((Date.now() - unchanged) / 1000);
    assert.equal(m.state, 'ready', `not ready after ${seconds} s; qemu: ${qemuErr()}\nconsole:\n${log.slice(-4000)}`);
    assert.deepEqual(m.facts.firmware, { uefi: true, secure_boot: true }, 'the agent saw Secure Boot on');
    assert.equal(m.facts.nics[0].mac, MAC, 'the NIC driver (a signed module) loaded under lockdown');
    assert.equal(m.facts.disks[0].size_bytes, DISK_BYTES, 'the disk driver too');
    // What the console shows of the chain: shim fetched GRUB, the kernel knew Secure Boot was on.
    assert.match(log, /Fetching Netboot Image grubx64\.efi/);
    assert.match(log, /Secure boot enabled/i);
    assert.match(log, /Lockdown: .* is restricted/, 'the signed kernel runs locked down');
    assert.match(log, /Secure Boot: true/);

    // The boot trace: DHCP handed out the shim; TFTP served shim, GRUB, both configs, kernel and initrd.
    await sleep(1200); // the recorder writes every 500 ms
    const entries = (await api('GET', '/api/v1/machines/node-01/boot-trace')).entries as TraceEntry[];
    const lines = entries.map((e) => `${e.kind} ${e.outcome} ${e.summary}`).join('\n');
    const dhcp = entries.filter((e) => e.kind === 'dhcp' && e.detail.type === 'DISCOVER');
    assert.ok(dhcp.some((e) => e.detail.file === 'shimx64.efi' && e.detail.arch === 7), lines);
    const tftp = entries.filter((e) => e.kind === 'tftp' && e.outcome === 'ok').map((e) => String(e.detail.file).replace(/^\/+/, ''));
    for (const f of ['shimx64.efi', 'grubx64.efi', 'grub/grub.cfg', `grub/${MAC}.cfg`, 'agent/vmlinuz', 'agent/initrd.img']) {
      assert.ok(tftp.includes(f), `TFTP ${f} in the trace:\n${lines}`);
    }
    assert.ok(entries.some((e) => e.kind === 'http' && e.detail.path === '/v1/agent/nonce' && e.outcome === 'ok'), lines);
    assert.ok(!JSON.stringify(entries).includes(nonce), 'no nonce in the trace');
    // Ready: GRUB's config says boot the disk, the firmware goes on to it, and the disk's own
    // signed chain (shim → GRUB from its ESP) runs under Secure Boot.
    const localStarted = Date.now();
    const local = boot('secure-boot-local');
    const localDeadline = Date.now() + 180_000;
    while (Date.now() < localDeadline && local.qemu.exitCode === null && !local.console().includes(DISK_MARK)) await sleep(1000);
    if (local.qemu.exitCode === null) local.qemu.kill('SIGKILL');
    const localLog = local.console();
    assert.match(localLog, /Rackhand: node-01 is ready: booting from its own disk/, localLog.slice(-3000));
    assert.ok(localLog.includes(DISK_MARK), `the disk was not booted:\n${localLog.slice(-3000)}`);
    assert.equal((await api('GET', '/api/v1/machines/node-01')).machine.state, 'ready');
    const localSeconds = Math.round((Date.now() - localStarted) / 1000);

    const took = entries.filter((e) => e.kind === 'tftp' && e.outcome === 'ok').map((e) => `${e.detail.file} ${e.detail.blksize ?? 512}B blocks ${e.detail.ms} ms`);
    process.stdout.write(`# secure boot: firmware to ready in ${seconds} s, local boot ${localSeconds} s (whole test ${Math.round((Date.now() - started) / 1000)} s); TFTP: ${took.join(', ')}\n`);
  });

const CLOUD_IMAGE = join(IMAGES, 'images/debian-12-cloud.raw.zst');

test('the Debian cloud image boots its own signed chain from disk: Secure Boot on (MS keys) and off',
  { skip: !(existsSync(CLOUD_IMAGE) && existsSync(OVMF_CODE)) && 'Debian cloud image or OVMF secboot firmware missing (make boot-images)', timeout: 300_000 }, async () => {
    const dir = tempDir('secure-boot-cloud');
    const disk = join(dir, 'disk.raw');
    execFileSync('zstd', ['-q', '-d', '-f', CLOUD_IMAGE, '-o', disk]);
    const firmware = {
      on: { code: OVMF_CODE, vars: OVMF_VARS, machine: 'q35,smm=on', secure: ['-global', 'driver=cfi.pflash01,property=secure,value=on'] },
      off: { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd', machine: 'q35', secure: [] as string[] },
    };
    const took: string[] = [];
    for (const [mode, fw] of Object.entries(firmware)) {
      const vars = join(dir, `vars-${mode}.fd`);
      copyFileSync(fw.vars, vars);
      const serial = join(dir, `cloud-${mode}.log`);
      const t0 = Date.now();
      const qemu = spawn('qemu-system-x86_64', [
        '-accel', 'tcg', '-m', '1024', '-nodefaults', '-display', 'none', '-no-reboot', '-machine', fw.machine, ...fw.secure,
        '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${fw.code}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
        '-drive', `file=${disk},if=virtio,format=raw,snapshot=on`, '-serial', `file:${serial}`,
      ], { stdio: 'ignore' });
      const text = () => (existsSync(serial) ? readFileSync(serial, 'utf8') : '');
      // systemd's greeting: the kernel the chain loaded runs the image's own root file system.
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && qemu.exitCode === null && !/Welcome to .*Debian GNU\/Linux 12/.test(text())) await sleep(1000);
      if (qemu.exitCode === null) qemu.kill('SIGKILL');
      const log = text();
      assert.match(log, /Welcome to .*Debian GNU\/Linux 12/, `${mode}: the image did not boot:\n${log.slice(-3000)}`);
      assert.match(log, /Welcome to GRUB/, `${mode}: through shim and GRUB`);
      if (mode === 'on') {
        assert.match(log, /secureboot: Secure boot enabled/);
        assert.match(log, /Lockdown: .* is restricted/);
      } else {
        assert.doesNotMatch(log, /secureboot: Secure boot enabled/);
      }
      took.push(`Secure Boot ${mode} ${Math.round((Date.now() - t0) / 1000)} s`);
    }
    process.stdout.write(`# the cloud image from disk to systemd: ${took.join(', ')}\n`);
  });
