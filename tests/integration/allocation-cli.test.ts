import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO, type TestDaemon } from '../lib/daemon.js';
import { phoneHome, startReadyRack, type RackMachine } from '../lib/allocation.js';

const run = promisify(execFile);
const MAIN = join(REPO, 'daemon/cli/main.ts');
const RACK: RackMachine[] = [
  { name: 'cli-01', cpus: 4, memoryGib: 16, diskGib: 200, tags: ['fast'] },
  { name: 'cli-02', cpus: 4, memoryGib: 16, diskGib: 200, tags: ['fast'] },
];

let d: TestDaemon;
before(async () => { d = await startReadyRack(RACK); });
after(async () => { await d.close(); });

async function cli(args: string[], token = d.tokens.admin): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      env: { ...process.env, RACKHAND_URL: d.url, RACKHAND_TOKEN: token }, cwd: REPO,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('tokens create, allocate (sizes, tags, --wait), allocations, release ALLOCATION|MACHINE, with exit codes', async () => {
  const created = await cli(['tokens', 'create', '--owner', 'acme', '--name', 'acme-cli', '--json']);
  assert.equal(created.code, 0, created.stderr);
  const acme = JSON.parse(created.stdout).secret as string;
  const beta = JSON.parse((await cli(['tokens', 'create', '--owner', 'beta', '--json'])).stdout).secret as string;
  assert.match((await cli(['tokens', 'list'])).stdout, /^NAME\s+OWNER\s+CREATED BY\s+CREATED\s+EXPIRES\s+LAST USED\s+STATE\nacme-cli\s+acme\s+operator:admin\s.*\snever\s+never\s+active\n/);

  // Bad usage is 2, before anything reaches the daemon; nothing fitting is 1 with the reason.
  const usage = await Promise.all([
    cli(['allocate', '--cpus', '4']), cli(['allocate', '--profile', 'lab-image', '--memory', '4Q']),
    cli(['allocate', '--profile', 'lab-image', '--count', '0']), cli(['tokens', 'create']), cli(['release']),
  ]);
  assert.deepEqual(usage.map((r) => r.code), [2, 2, 2, 2, 2]);
  assert.match(usage[1]!.stderr, /--memory takes a size such as 32G/);
  const tooBig = await cli(['allocate', '--profile', 'lab-image', '--memory', '1T'], acme);
  assert.equal(tooBig.code, 1);
  assert.equal(tooBig.stderr, 'rackhand: no ready machine meets memory_gib >= 1024 (the most any has: 16); 2 machines came closest, missing only memory_gib\n');

  // allocate --wait follows the allocation until the machine phones home.
  const waiting = cli(['allocate', '--profile', 'lab-image', '--cpus', '4', '--memory', '16G', '--disk', '100G', '--arch', 'x86_64', '--tag', 'fast', '--wait'], acme);
  let machine: string | undefined;
  for (let i = 0; i < 100 && !machine; i++) {
    await new Promise((r) => setTimeout(r, 100));
    machine = (await d.daemon.store.listMachines({ owner: 'acme', state: 'deploying' }))[0]?.name;
  }
  assert.equal(machine, 'cli-01', 'the smallest fitting machine, first by name');
  await phoneHome(d.daemon.store, machine!);
  const done = await waiting;
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, /^alloc-[0-9a-f]{10} \(acme, lab-image\): deploying — cli-01 10\.20\.0\.20 deploying$/m);
  assert.match(done.stdout, /: deployed — cli-01 10\.20\.0\.20 deployed$/m);
  const id = /^(alloc-[0-9a-f]{10})/.exec(done.stdout)![1]!;

  const list = await cli(['allocations'], acme);
  assert.equal(list.code, 0);
  assert.match(list.stdout, new RegExp(`^ID\\s+OWNER\\s+PROFILE\\s+STATE\\s+MACHINES\\s+CREATED\\n${id}\\s+acme\\s+lab-image\\s+deployed\\s+cli-01\\(10\\.20\\.0\\.20\\)`));
  assert.equal((await cli(['allocations'], beta)).stdout, 'no allocations\n', 'beta sees none of acme\'s');
  const json = JSON.parse((await cli(['allocation', id, '--json'], acme)).stdout);
  assert.equal(json.allocation.machines[0].state, 'deployed');

  // Another tenant cannot release it (exit 1, "no allocation"); the owner can.
  const theirs = await cli(['release', id], beta);
  assert.equal(theirs.code, 1);
  assert.equal(theirs.stderr, `rackhand: no allocation ${id}\n`);
  assert.equal((await cli(['release', 'cli-01'], beta)).code, 1);
  const rel = await cli(['release', id], acme);
  assert.equal(rel.code, 0, rel.stderr);
  assert.match(rel.stdout, new RegExp(`^${id} \\(acme, lab-image\\): releasing — cli-01 10\\.20\\.0\\.20 releasing\n$`));

  // release MACHINE is still the machine action.
  const machineRelease = await cli(['release', 'cli-02']);
  assert.equal(machineRelease.code, 1);
  assert.equal(machineRelease.stderr, 'rackhand: cannot release a machine that is ready; allowed: inspect, allocate, deploy, reimage, maintenance_on\n');
});
