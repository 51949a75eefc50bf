// UEFI HTTP Boot with real firmware: OVMF in QEMU (TCG) with no NIC option ROM, so its own network
// stack boots, and its PXE options switched off through fw_cfg, so its first network boot option
// is HTTPv4. `rackhand serve` in the namespace answers the firmware's DISCOVER (vendor class
// HTTPClient, arch 16) with ipxe.efi as an http:// URL; the firmware fetches it over HTTP, and
// iPXE then asks DHCP again (user class iPXE) and fetches its script. The boot trace must show
// each of those steps. QEMU is ended by its PID once the script fetch is seen.
// Run under `flock /tmp/rackhand-qemu.lock` (make test runs the QEMU suites one by one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Netns } from '../lib/netns.js';
import { ADMIN_TOKEN, prepareStateDir, REPO } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';
import { OVMF_CODE, OVMF_VARS } from '../../daemon/lab/qemu.js';

const MAC = '52:54:00:4b:00:01';
const LOADER = join(REPO, 'boot-images/ipxe.efi');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Entry { kind: string; outcome: string; summary: string; detail: Record<string, unknown> }

test('OVMF\'s own HTTPv4 boot option fetches ipxe.efi from Rackhand; iPXE then fetches its script', {
  skip: !existsSync(LOADER) && 'boot-images/ipxe.efi missing (make boot-images)', timeout: 240_000,
}, async (t) => {
  const dir = tempDir('uefi-http-boot');
  const images = join(dir, 'images');
  mkdirSync(images);
  copyFileSync(LOADER, join(images, 'ipxe.efi'));
  const loaderBytes = readFileSync(LOADER).length;
  writeFileSync(join(dir, 'inventory.yaml'), `site:
  interface: br0
  address: 10.20.0.1
  http_port: 8080
  images_dir: ${images}
  dhcp: { mode: full, subnet: 10.20.0.0/24 }
machines:
  - { name: hb-01, mac: "${MAC}", ip: 10.20.0.31, power: { driver: manual } }
`);
  const vars = join(dir, 'OVMF_VARS.fd');
  copyFileSync(OVMF_VARS, vars);
  const state = join(dir, 'state');
  prepareStateDir(state);

  const ns = await Netns.create('httpbt');
  let daemon: ChildProcess | undefined;
  let qemu: ChildProcess | undefined;
  let log = '';
  const serial = join(dir, 'console.log');
  const started = Date.now();
  try {
    await ns.bridgeWithTap('10.20.0.1/24');
    await ns.exec('ln', ['-s', join(REPO, 'templates'), join(dir, 'templates')]);
    daemon = ns.spawn(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'serve',
      '--inventory', join(dir, 'inventory.yaml'), '--state-dir', state, '--no-power'], { cwd: REPO });
    await new Promise<void>((resolve, reject) => {
      daemon!.stdout!.on('data', (d: Buffer) => { log += d; if (log.includes('HTTP listening') && log.includes('DHCP listening')) resolve(); });
      daemon!.stderr!.on('data', (d: Buffer) => { log += d; });
      daemon!.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${log.slice(-3000)}`)));
    });

    qemu = ns.spawn('qemu-system-x86_64', [
      '-accel', 'tcg', '-machine', 'q35', '-m', '256', '-nodefaults', '-display', 'none', '-no-reboot',
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
      '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
      // OVMF's boot options per NIC are PXEv4, PXEv6, HTTPv4, HTTPv6: without its PXE clients the
      // first one is HTTPv4 (and no ~90 s spent on PXE timeouts first).
      '-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=n',
      '-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=n',
      '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no',
      // romfile= (empty): no iPXE option ROM, so OVMF's own network stack boots.
      '-device', `virtio-net-pci,netdev=n0,mac=${MAC},romfile=,bootindex=0`,
      '-serial', `file:${serial}`,
    ]);
    let qemuErr = '';
    qemu.stderr!.on('data', (d: Buffer) => { qemuErr += d; });
    qemu.stdout!.resume();

    const api = async (path: string) => JSON.parse(await ns.exec('curl', ['-sS', '-m', '10', '-H', `authorization: Bearer ${ADMIN_TOKEN}`, `http://127.0.0.1:8080${path}`]));
    const scriptPath = `/boot/${MAC}.ipxe`;
    let entries: Entry[] = [];
    const deadline = Date.now() + 200_000;
    while (Date.now() < deadline && qemu.exitCode === null) {
      await sleep(2000);
      entries = (await api('/api/v1/machines/hb-01/boot-trace')).entries as Entry[];
      if (entries.some((e) => e.kind === 'http' && e.detail.path === scriptPath)) break;
    }
    const seenAfter = Math.round((Date.now() - started) / 1000);
    const trace = entries.map((e) => `${e.kind} ${e.outcome} ${e.summary}`).join('\n');
    const consoleTail = () => (existsSync(serial) ? readFileSync(serial, 'utf8').slice(-3000) : '');
    assert.ok(entries.some((e) => e.kind === 'http' && e.detail.path === scriptPath),
      `no script fetch after ${seenAfter} s; trace:\n${trace}\nqemu: ${qemuErr}\nconsole:\n${consoleTail()}\ndaemon:\n${log.slice(-2000)}`);
    t.diagnostic(`QEMU start to iPXE script fetch: ${seenAfter} s`);

    // The firmware: HTTPClient / arch 16, answered with the loader's URL and HTTPClient.
    const dhcp = entries.filter((e) => e.kind === 'dhcp');
    const firmware = dhcp.filter((e) => e.detail.ipxe === false);
    assert.deepEqual(firmware.map((e) => e.detail.type).slice(0, 2), ['DISCOVER', 'REQUEST'], trace);
    for (const e of firmware) {
      assert.equal(e.detail.arch, 16, trace);
      assert.match(String(e.detail.vendor_class), /^HTTPClient:Arch:00016/, trace);
    }
    t.diagnostic(`firmware: vendor class ${String(firmware[0]!.detail.vendor_class)}, arch ${String(firmware[0]!.detail.arch)}`);
    assert.equal(firmware[0]!.detail.answer, 'OFFER', trace);
    assert.equal(firmware[0]!.detail.file, 'http://10.20.0.1:8080/boot/ipxe.efi', trace);
    assert.equal(firmware[1]!.detail.answer, 'ACK', trace);
    // The loader over HTTP, whole.
    const http = entries.filter((e) => e.kind === 'http');
    const loaderGet = http.find((e) => e.detail.path === '/boot/ipxe.efi');
    assert.ok(loaderGet, trace);
    assert.equal(loaderGet.detail.status, 200, trace);
    assert.equal(loaderGet.detail.bytes, loaderBytes, trace);
    // iPXE: its own DHCP (user class iPXE) and its script.
    const ipxe = dhcp.filter((e) => e.detail.ipxe === true);
    assert.ok(ipxe.some((e) => e.detail.user_class === 'iPXE' && e.detail.answer === 'ACK'), trace);
    assert.equal(http.find((e) => e.detail.path === scriptPath)!.detail.status, 200, trace);
    const order = entries.map((e) => (e.kind === 'http' ? String(e.detail.path) : `${e.kind}${e.detail.ipxe ? ':ipxe' : ''}`));
    assert.ok(order.indexOf('/boot/ipxe.efi') < order.indexOf('dhcp:ipxe') && order.indexOf('dhcp:ipxe') < order.indexOf(scriptPath), order.join(' '));
  } finally {
    if (qemu?.pid && qemu.exitCode === null) {
      process.kill(qemu.pid, 'SIGKILL');
      await new Promise((r) => qemu!.once('exit', r));
    }
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon!.once('exit', r));
    }
    await ns.delete();
  }
});
