// Machines on demand in the QEMU lab (SPEC §2b): a tenant allocates by constraints and gets a
// deployed machine booted from its disk; another tenant can neither see nor release it; a
// release erases the whole disk (the tenant's data written across the disk file, none of it
// left) and returns the machine to the pool; with auto_redeploy a release comes back deployed
// with a new instance-id, owned by nobody.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';

const run = promisify(execFile);
const MAIN = join(REPO, 'daemon/cli/main.ts');
const built = existsSync(join(REPO, 'boot-images/agent/initrd.img')) && existsSync(join(REPO, 'boot-images/images/lab.raw.gz'));
const dir = join(tempDir('lab-tenants'), 'lab');
const base = { ...process.env, RACKHAND_URL: 'http://169.254.210.2:8080', RACKHAND_STATE_DIR: join(dir, 'state'), RACKHAND_TOKEN: '' };

async function cli(args: string[], token = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...base, RACKHAND_TOKEN: token }, cwd: REPO, timeout: 600_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function machine(): Promise<any> {
  const r = await cli(['show', 'node-01', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).machine;
}

async function until(what: string, check: () => Promise<boolean>, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

const instanceIds = () => [...readFileSync(join(dir, 'node-01.console.log'), 'utf8').matchAll(/RACKHAND-LAB-OS: booted from disk: hostname=node-01 instance-id=(\S+)/g)].map((m) => m[1]!);

// The tenant's data: a recognizable line in every 4 KiB block of the whole disk file.
const TENANT_DATA = 'ACME-TENANT-SECRET-';
function fillDiskWithTenantData(): void {
  const chunk = Buffer.alloc(1 << 20);
  for (let at = 0; at < chunk.length; at += 4096) chunk.write(`${TENANT_DATA}${at}`, at);
  const fd = openSync(join(dir, 'node-01.raw'), 'r+');
  const size = fstatSync(fd).size;
  for (let at = 0; at < size; at += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, size - at), at);
  fsyncSync(fd);
  closeSync(fd);
}

/** The MiB offsets of the disk file that are not all zero (none after a secure erase). */
function nonZeroMiBs(): number[] {
  const fd = openSync(join(dir, 'node-01.raw'), 'r');
  const buf = Buffer.alloc(16 << 20);
  const dirty: number[] = [];
  for (let at = 0; ; at += buf.length) {
    const n = readSync(fd, buf, 0, buf.length, at);
    if (n === 0) break;
    for (let i = 0; i < n; i += 1 << 20) {
      const mib = buf.subarray(i, Math.min(n, i + (1 << 20)));
      if (mib.some((b) => b !== 0)) dirty.push((at + i) >> 20);
    }
  }
  closeSync(fd);
  return dirty;
}

before(async () => {
  if (!built) return;
  const up = await cli(['lab', 'up', '--machines', '1', '--dir', dir]);
  assert.equal(up.code, 0, up.stderr + up.stdout);
});

after(async () => {
  const down = await cli(['lab', 'down', '--dir', dir]);
  assert.equal(down.code, 0, down.stderr);
});

test('a tenant allocates, another cannot see it, release erases, auto_redeploy reimages', { skip: !built && 'boot images not built (make boot-images)' }, async () => {
  assert.equal((await cli(['inspect', 'node-01', '--wait'])).code, 0);
  const acme = JSON.parse((await cli(['tokens', 'create', '--owner', 'acme', '--json'])).stdout).secret as string;
  const globex = JSON.parse((await cli(['tokens', 'create', '--owner', 'globex', '--json'])).stdout).secret as string;
  assert.ok(acme && globex);

  // Too big: a 409 that names the constraint.
  const tooBig = await cli(['allocate', '--owner', 'acme', '--profile', 'lab-image', '--memory', '64G'], acme);
  assert.equal(tooBig.code, 1);
  assert.match(tooBig.stderr, /memory_gib/);

  const first = await cli(['allocate', '--owner', 'acme', '--profile', 'lab-image', '--memory', '0.4G', '--wait'], acme);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const allocation = /alloc-[\w-]+/.exec(first.stdout)![0];
  let m = await machine();
  assert.deepEqual([m.state, m.owner], ['deployed', 'acme']);
  assert.equal(instanceIds().length, 1, 'the machine booted its deployed system from disk');

  // Another tenant: nothing to see, nothing to release.
  assert.match((await cli(['allocations'], globex)).stdout, /no allocations/);
  assert.equal((await cli(['show', 'node-01'], globex)).code, 1);
  const steal = await cli(['release', allocation], globex);
  assert.equal(steal.code, 1);
  assert.equal((await machine()).state, 'deployed');

  // The tenant's data fills the whole disk (written from the host while its system runs from
  // memory); the owner releases: the default erase leaves none of it, back in the pool.
  fillDiskWithTenantData();
  assert.ok(nonZeroMiBs().length > 1000, 'the tenant data is on the disk');
  const released = await cli(['release', allocation, '--wait'], acme);
  assert.equal(released.code, 0, released.stdout + released.stderr);
  await until('node-01 ready', async () => (await machine()).state === 'ready', 300);
  const dirty = nonZeroMiBs();
  assert.deepEqual(dirty, [], `the previous tenant's data is still readable at MiB ${dirty.slice(0, 10).join(', ')}`);
  assert.equal((await machine()).owner, null);

  // auto_redeploy: a release reimages the machine at once, with a new instance-id.
  const inventory = join(dir, 'inventory.yaml');
  writeFileSync(inventory, readFileSync(inventory, 'utf8').replace('auto_redeploy: false', 'auto_redeploy: true'));
  process.kill(Number(readFileSync(join(dir, 'daemon.pid'), 'utf8')), 'SIGHUP');
  await new Promise((r) => setTimeout(r, 2000));
  const second = await cli(['allocate', '--owner', 'acme', '--profile', 'lab-image', '--memory', '0.4G', '--wait'], acme);
  assert.equal(second.code, 0, second.stdout + second.stderr);
  const again = /alloc-[\w-]+/.exec(second.stdout)![0];
  assert.equal((await cli(['release', again], acme)).code, 0);
  await until('node-01 redeployed', async () => { m = await machine(); return m.state === 'deployed' && instanceIds().length === 3; }, 400);
  const ids = instanceIds();
  assert.equal(new Set(ids).size, 3, `every deployment has its own instance-id: ${ids.join(' ')}`);
  assert.equal(m.owner, null, 'the tenant let go: the reimaged machine is owned by nobody');
  console.log(`# instance-ids: ${ids.join(', ')}`);
});

test('a crashed lab is still torn down completely: every process, the namespace, the veth, the folder', { skip: !built && 'boot images not built (make boot-images)' }, async () => {
  // The crash: the supervisor and the daemon die at once, leaving the BMC, the running VM and
  // radvd behind with no one to stop them.
  const named = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir); } catch { return false; }
  });
  for (const f of ['supervisor.pid', 'daemon.pid']) process.kill(Number(readFileSync(join(dir, f), 'utf8')), 'SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  const orphans = named().map((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0]!.split('/').pop());
  for (const kind of ['qemu-system-x86_64', 'ipmi_sim', 'radvd']) assert.ok(orphans.includes(kind), `${kind} outlived the crash: ${orphans.join(' ')}`);
  const down = await cli(['lab', 'down', '--dir', dir]);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(named(), [], 'no process names the lab folder');
  assert.doesNotMatch((await run('ip', ['netns', 'list'])).stdout, /rackhand-lab/);
  await assert.rejects(run('ip', ['link', 'show', 'rhlab0']), 'the host end of the API veth is gone');
  assert.ok(!existsSync(dir), 'the lab folder is removed');
});

