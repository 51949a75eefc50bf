// The deploy agent in a real QEMU VM (TCG) against the daemon, both inside a network namespace:
// inspect reports the VM's real MAC, disk size and DMI values; image writes and verifies the lab
// OS image, gzip- and zstd-compressed; erase really zeroes — quick (the site's explicit choice),
// then full by the profile's policy (checked from the host on the disk file). The VM boots the agent
// kernel directly with the arguments from its iPXE script (PXE itself is the DHCP/TFTP tests' job):
// the test fetches that script as the VM's firmware would, from the machine's reserved address,
// and the agent in the VM trades the script's boot nonce for its agent token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';
import { startAgentRig, VM, type AgentRig } from '../lib/agent-vm.js';
import { LAB_IMAGE_PROFILE } from '../../daemon/lab/lab.js';

const IMAGES = join(REPO, 'boot-images');
const execFileP = promisify(execFile);
const MAC = VM.mac;
const DISK_BYTES = 256 << 20;
const built = existsSync(join(IMAGES, 'agent/initrd.img')) && existsSync(join(IMAGES, 'images/lab.raw.gz'));

let rig: AgentRig;
let disk = '';

before(async () => {
  if (!built) return;
  const dir = tempDir('agent-qemu-images');
  // The images folder: the repository's agent and lab image, plus the image recompressed with
  // zstd (the agent carries Debian's zstd; busybox has none). Copies, not symlinks: /boot refuses
  // symlinks that lead out of the images directory, as TFTP does.
  const images = join(dir, 'boot-images');
  mkdirSync(join(images, 'images'), { recursive: true });
  for (const f of ['agent', 'images/lab.raw.gz', 'images/lab.raw.sha256']) cpSync(join(IMAGES, f), join(images, f), { recursive: true });
  writeFileSync(join(images, 'images/lab.raw'), gunzipSync(readFileSync(join(IMAGES, 'images/lab.raw.gz'))));
  await execFileP('zstd', ['-q', '--rm', '-3', join(images, 'images/lab.raw'), '-o', join(images, 'images/lab.raw.zst')]);
  rig = await startAgentRig('agent', {
    site: `  images_dir: ${images}\n  erase: quick\n`,
    rest: `profiles:
${LAB_IMAGE_PROFILE}  lab-zst:
    kind: image
    image: { url: images/lab.raw.zst, sha256_file: images/lab.raw.sha256 }
    user_data: cloud-init/user-data.j2
    erase: full
machines:
  - name: node-01
    mac: ${MAC}
    ip: ${VM.ip}
    profile: lab-image
`,
  });
  disk = join(dir, 'disk.raw');
  writeFileSync(disk, '');
  truncateSync(disk, DISK_BYTES);
});

after(async () => { await rig?.close(); });

const api = (method: string, path: string, body?: object) => rig.api(method, path, body);
const asMachine = (args: string[]) => rig.asMachine(args);
/** Boots the VM into whatever its iPXE script says (the agent), until it powers off or reboots. */
const bootAgent = (label: string) => rig.bootAgent(label, [
  '-drive', `file=${disk},if=virtio,format=raw`,
  '-smbios', 'type=1,manufacturer=RackhandLab,product=LabServer,serial=LAB-0001',
]);

function readRange(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(length);
  readSync(fd, buf, 0, length, offset);
  closeSync(fd);
  return buf;
}

test('the agent in QEMU: inspect, image (gzip, zstd), erase (quick, full)', { skip: !built && 'boot images not built (make boot-images)' }, async () => {
  // Inspect: the facts are the VM's real ones.
  assert.equal((await api('POST', '/api/v1/machines/node-01/actions/inspect')).machine.state, 'inspecting');
  const inspectLog = await bootAgent('inspect');
  let m = (await api('GET', '/api/v1/machines/node-01')).machine;
  assert.equal(m.state, 'ready', `not ready; console:\n${inspectLog.slice(-3000)}`);
  assert.equal(m.facts.nics[0].mac, MAC);
  assert.equal(m.facts.disks[0].name, 'vda');
  assert.equal(m.facts.disks[0].size_bytes, DISK_BYTES);
  assert.deepEqual(m.facts.dmi, { vendor: 'RackhandLab', product: 'LabServer', serial: 'LAB-0001' });
  assert.ok(m.facts.memory_mib > 400 && m.facts.memory_mib <= 512, `memory ${m.facts.memory_mib}`);

  // Deploy: the lab image is written, verified, and given its metadata URL.
  await api('POST', '/api/v1/machines/node-01/actions/deploy');
  const deployLog = await bootAgent('deploy');
  m = (await api('GET', '/api/v1/machines/node-01')).machine;
  assert.equal(m.state, 'deploying', `console:\n${deployLog.slice(-3000)}`);
  assert.match(deployLog, /image: 33554432 bytes written and verified/);
  // The agent verified the whole image on the disk before configure wrote into its boot
  // partition; from here, the partition table and boot code before that partition must match.
  const raw = gunzipSync(readFileSync(join(IMAGES, 'images/lab.raw.gz')));
  assert.equal(createHash('sha256').update(raw).digest('hex'), readFileSync(join(IMAGES, 'images/lab.raw.sha256'), 'utf8').trim());
  assert.ok(readRange(disk, 0, 1 << 20).equals(raw.subarray(0, 1 << 20)), 'the disk starts with the image');
  const script = await asMachine([`http://10.20.0.1:${VM.port}/boot/${MAC}.ipxe`]);
  assert.match(script, /image is written, booting it from disk\nexit 1\n$/);
  const events = (await api('GET', '/api/v1/events?machine=node-01')).events.map((e: { event: string }) => e.event);
  assert.ok(events.includes('image_done') && events.includes('configure_done'), events.join(' '));

  // Release with the site's explicit quick erase: the first and last 16 MiB are zeroed (the end
  // is filled first, to see it change) and, as quick says, the middle is left as it was.
  const fd = openSync(disk, 'r+');
  writeSync(fd, Buffer.alloc(16 << 20, 0xaa), 0, 16 << 20, DISK_BYTES - (16 << 20));
  writeSync(fd, Buffer.alloc(1 << 20, 0xaa), 0, 1 << 20, 128 << 20);
  closeSync(fd);
  // The configure step left the metadata URL on the image's boot partition; the deployed
  // system phones home with that operation's token (booting the lab OS is the lab test's job).
  const seed = (await rig.ns.exec('mtype', ['-i', `${disk}@@1M`, '::/rackhand/seed-url'])).trim();
  assert.match(seed, /^http:\/\/10\.20\.0\.1:8080\/v1\/nocloud\/[\w-]{32}\/$/);
  assert.equal((await rig.ns.exec('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', seed.replace(/nocloud\/([^/]+)\/$/, 'phone-home/$1')])), '403', 'not from the daemon\'s own address');
  await asMachine(['-X', 'POST', seed.replace(/nocloud\/([^/]+)\/$/, 'phone-home/$1')]);
  assert.equal((await api('GET', '/api/v1/machines/node-01')).machine.state, 'deployed');
  await api('POST', '/api/v1/machines/node-01/actions/release');
  const eraseLog = await bootAgent('erase');
  m = (await api('GET', '/api/v1/machines/node-01')).machine;
  assert.equal(m.state, 'ready', `console:\n${eraseLog.slice(-3000)}`);
  assert.ok(readRange(disk, 0, 16 << 20).every((b) => b === 0), 'the first 16 MiB are zero');
  assert.ok(readRange(disk, DISK_BYTES - (16 << 20), 16 << 20).every((b) => b === 0), 'the last 16 MiB are zero');
  assert.ok(readRange(disk, 128 << 20, 1 << 20).every((b) => b === 0xaa), 'quick leaves the middle of the disk alone');

  // A zstd image, by a profile whose release policy is a full erase.
  assert.equal((await api('POST', '/api/v1/machines/node-01/actions/deploy', { profile: 'lab-zst' })).machine.deploy_profile, 'lab-zst');
  const zstdLog = await bootAgent('deploy-zstd');
  assert.match(zstdLog, /image: \S+lab\.raw\.zst → \/dev\/vda \(zstd\)/);
  assert.match(zstdLog, /image: 33554432 bytes written and verified/, `console:\n${zstdLog.slice(-3000)}`);
  assert.ok(readRange(disk, 0, 1 << 20).equals(raw.subarray(0, 1 << 20)), 'the disk starts with the image');
  const seed2 = (await rig.ns.exec('mtype', ['-i', `${disk}@@1M`, '::/rackhand/seed-url'])).trim();
  await asMachine(['-X', 'POST', seed2.replace(/nocloud\/([^/]+)\/$/, 'phone-home/$1')]);
  assert.equal((await api('GET', '/api/v1/machines/node-01')).machine.state, 'deployed');
  // Data in the middle of the disk, where a quick erase would not reach.
  const mid = openSync(disk, 'r+');
  writeSync(mid, Buffer.alloc(1 << 20, 0x5a), 0, 1 << 20, 128 << 20);
  closeSync(mid);
  await api('POST', '/api/v1/machines/node-01/actions/release');
  const fullLog = await bootAgent('erase-full');
  assert.match(fullLog, /erase vda: writing zeroes over all 256 MiB/, `console:\n${fullLog.slice(-3000)}`);
  assert.equal((await api('GET', '/api/v1/machines/node-01')).machine.state, 'ready');
  for (let off = 0; off < DISK_BYTES; off += 16 << 20) {
    assert.ok(readRange(disk, off, 16 << 20).every((b) => b === 0), `a full erase zeroes everything: not at ${off >> 20} MiB`);
  }
});
