// The flagship: a virtual rack (`rackhand lab up`) of two QEMU machines, one BIOS behind an
// ipmi_sim BMC, one UEFI (OVMF) behind the lab's Redfish BMC.
// Each is powered on through its BMC, PXE-boots the agent from Rackhand, is inspected, deployed
// (the lab OS image written and verified, the machine rebooted into it, the OS phones home),
// released (disks erased) and returned to ready. In the middle of a deploy the daemon is killed
// with SIGKILL and restarted: the deploy still completes, and no step runs twice. Each machine's
// boot trace shows its real DHCP and HTTP steps; node-02 (UEFI, no NIC ROM) also shows OVMF's own
// PXE round (PXEClient, arch 7) and its TFTP fetch of ipxe.efi before iPXE's; and (with Chromium)
// a dashboard page follows node-02's deploy live and shows that trace, TFTP step included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';
import { assertFirmwareBoot, assertRealBoot, openMachinePage, pageFollows, type TraceEntry } from '../lib/lab-trace.js';

const run = promisify(execFile);
const MAIN = join(REPO, 'daemon/cli/main.ts');
const built = existsSync(join(REPO, 'boot-images/agent/initrd.img')) && existsSync(join(REPO, 'boot-images/images/lab.raw.gz'));
const dir = join(tempDir('lab'), 'lab');
const env = { ...process.env, RACKHAND_URL: 'http://169.254.210.2:8080', RACKHAND_STATE_DIR: join(dir, 'state'), RACKHAND_TOKEN: '' };
const started = Date.now();
const since = () => `${Math.round((Date.now() - started) / 1000)} s`;

async function cli(args: string[], timeout = 600_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', MAIN, ...args], { env, cwd: REPO, timeout });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function api(path: string): Promise<any> {
  const token = JSON.parse(readFileSync(join(dir, 'state/tokens.json'), 'utf8')).tokens[0].token;
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(env.RACKHAND_URL + path, { headers: { authorization: `Bearer ${token}` } });
      return await res.json();
    } catch (err) {
      if (i > 60) throw err;
      await new Promise((r) => setTimeout(r, 500)); // the daemon is restarting
    }
  }
}

const events = async (machine: string) => (await api(`/api/v1/events?machine=${machine}&limit=1000`)).events as { event: string; kind: string; cause: string }[];

async function waitFor(what: string, check: () => Promise<boolean>, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function zeroes(file: string, offset: number, length: number): boolean {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(length);
  readSync(fd, buf, 0, length, offset);
  closeSync(fd);
  return buf.every((b) => b === 0);
}

before(async () => {
  if (!built) return;
  const up = await cli(['lab', 'up', '--machines', '2', '--dir', dir], 120_000);
  assert.equal(up.code, 0, up.stderr + up.stdout);
  assert.match(up.stdout, /lab up: node-01 \(bios, ipmi\), node-02 \(uefi, redfish\)/);
  // What `make demo` shows first: the dashboard's URL and a token to sign in with.
  assert.match(up.stdout, /^ {2}dashboard: http:\/\/169\.254\.210\.2:8080\/ui\/$/m);
  assert.match(up.stdout, /^ {2}sign in with the admin token .*:\n {4}\S{20,}$/m);
});

// The machines' consoles and the daemon's log are in `dir`, which goes with the process: a failed
// run prints their last lines, what a person needs to see where a machine stopped.
let passed = false;
function printTails(): void {
  for (const f of ['node-01.console.log', 'node-02.console.log', 'daemon.log']) {
    const file = join(dir, f);
    if (!existsSync(file)) continue;
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-25);
    console.log(`# the last lines of ${f}:\n${lines.map((l) => `#   ${l.replace(/[\x00-\x1f\x7f]/g, '').slice(0, 300)}`).join('\n')}`);
  }
}

after(async () => {
  if (built && !passed) printTails();
  const down = await cli(['lab', 'down', '--dir', dir], 60_000);
  assert.equal(down.code, 0, down.stderr);
  const ns = (await run('ip', ['netns', 'list'])).stdout;
  assert.doesNotMatch(ns, /rackhand-lab/, 'lab down removes the namespace');
});

test('two machines: inspect, deploy (with a kill -9 of the daemon), phone home, release', { skip: !built && 'boot images not built (make boot-images)' }, async () => {
  const status = await cli(['lab', 'status', '--dir', dir]);
  assert.match(status.stdout, /node-01\s+bios\s+52:54:00:00:01:01\s+ipmi 127\.0\.0\.1:9001\s+off\s+enrolled/);
  assert.match(status.stdout, /node-02\s+uefi\s+52:54:00:00:01:02\s+redfish 127\.0\.0\.1:8443\s+off\s+enrolled/);
  assert.match(status.stdout, /IPv6 router advertisements on prov0: radvd running \(\d+/);

  // Inspect both at once, each followed live by the CLI.
  const inspected = await Promise.all(['node-01', 'node-02'].map((m) => cli(['inspect', m, '--wait'])));
  for (const r of inspected) assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(inspected[0]!.stdout, /node-01: inspecting — inspect/);
  assert.match(inspected[0]!.stdout, /node-01: ready$/m);
  const m1 = (await api('/api/v1/machines/node-01')).machine;
  assert.equal(m1.facts.disks[0].size_bytes, 1 << 30);
  assert.equal(m1.facts.nics[0].mac, '52:54:00:00:01:01');
  console.log(`# inspected both in ${since()}`);

  // A dashboard page opened before the deploy follows node-02 live to deployed, across the kill -9
  // and restart below (sessions are in the store; the page's stream reconnects by itself), no reload.
  const token = JSON.parse(readFileSync(join(dir, 'state/tokens.json'), 'utf8')).tokens[0].token as string;
  // Kept after the run (not a tempDir, which goes with the process) so a person can look.
  const shots = mkdtempSync(join(tmpdir(), 'rackhand-lab-ui-shots-'));
  const ui = await openMachinePage(env.RACKHAND_URL, token, 'node-02');
  if (ui) console.log(`# dashboard screenshots: ${shots}`);
  try {
    await ui?.page.evaluate(() => { (globalThis as unknown as { __same: boolean }).__same = true; });

    // Deploy both; kill -9 the daemon once node-02's image is written, before it reports configure.
    const deploy1 = cli(['deploy', 'node-01', '--wait']);
    assert.equal((await cli(['deploy', 'node-02'])).code, 0);
    // By now node-02 has booted the agent once (inspect) through its firmware: DHCP, TFTP, HTTP rows.
    if (ui) await pageFollows(ui.page, 'deploying', shots, 'node-02-deploying', 60_000, ['dhcp', 'tftp', 'http']);
    await waitFor('node-02 image written', async () => (await events('node-02')).some((e) => e.event === 'image_done'), 400);
    const daemonPid = Number(readFileSync(join(dir, 'daemon.pid'), 'utf8'));
    process.kill(daemonPid, 'SIGKILL');
    console.log(`# killed the daemon (${daemonPid}) with SIGKILL at ${since()}`);
    await waitFor('the daemon restarted', async () => Number(readFileSync(join(dir, 'daemon.pid'), 'utf8')) !== daemonPid, 30);
    const r1 = await deploy1;
    assert.equal(r1.code, 0, r1.stdout + r1.stderr);
    assert.match(r1.stdout, /node-01: deployed$/m);
    await waitFor('node-02 deployed', async () => (await api('/api/v1/machines/node-02')).machine.state === 'deployed', 400);
    const e2 = await events('node-02');
    assert.equal(e2.filter((e) => e.event === 'image_done').length, 1, 'the image step ran once');
    assert.equal(e2.filter((e) => e.event === 'configure_done').length, 1, 'the configure step ran once');
    for (const m of ['node-01', 'node-02']) {
      assert.match(readFileSync(join(dir, `${m}.console.log`), 'utf8'), new RegExp(`RACKHAND-LAB-OS: booted from disk: hostname=${m} `));
      assert.match(readFileSync(join(dir, `${m}.console.log`), 'utf8'), /RACKHAND-LAB-OS: phoned home/);
    }
    console.log(`# both deployed and phoned home at ${since()}`);
    // Their boot traces: iPXE's DHCP, the script, kernel and initrd over HTTP, then the agent's and
    // the deployed OS's own DHCP and HTTP calls. node-01's NIC ROM is iPXE (SeaBIOS has no PXE of
    // its own): no firmware round there. node-02 boots with no NIC ROM: before iPXE, OVMF's PXE
    // asks DHCP (PXEClient, arch 7) and fetches ipxe.efi over TFTP, whole.
    for (const [m, mac] of [['node-01', '52:54:00:00:01:01'], ['node-02', '52:54:00:00:01:02']] as const) {
      const trace = (await api(`/api/v1/machines/${m}/boot-trace`)).entries as TraceEntry[];
      assertRealBoot(trace, mac);
      if (m === 'node-02') {
        const { fetches, firmwareSeconds } = assertFirmwareBoot(trace, mac, statSync(join(REPO, 'boot-images/ipxe.efi')).size);
        console.log(`# node-02's firmware TFTP fetches of ipxe.efi: ${fetches.map((e) => `${e.outcome} ${e.summary}`).join('; ')}; firmware DISCOVER to iPXE's ACK: ${firmwareSeconds} s`);
      }
      console.log(`# ${m}'s boot trace (${trace.length} steps), the first ten:\n${trace.slice(0, 10).map((e) => `#   ${e.kind} ${e.outcome} ${e.summary}`).join('\n')}`);
    }
    if (ui) {
      await pageFollows(ui.page, 'deployed', shots, 'node-02-deployed', 60_000, ['dhcp', 'tftp', 'http']);
      const tftpRow = await ui.page.$eval('#trace-list > li[data-kind="tftp"][data-outcome="ok"]', (li) => li.textContent ?? '');
      assert.match(tftpRow, /ipxe\.efi/, 'the page shows the TFTP fetch of ipxe.efi');
      assert.equal(await ui.page.evaluate(() => (globalThis as unknown as { __same?: boolean }).__same), true, 'the same page, never reloaded, across the restart');
    }
  } finally {
    await ui?.browser.close();
  }
  // The deploy's operation log: the daemon's side and the real agent's lines, in one timeline.
  const log = await cli(['log', 'node-01']);
  assert.equal(log.code, 0, log.stderr);
  assert.match(log.stdout, /^# node-01: deploy \S+ — succeeded/);
  assert.match(log.stdout, /rackhand {2}ready → deploying \(deploy\)/);
  assert.match(log.stdout, /agent {5}image: 33554432 bytes written and verified/);
  assert.match(log.stdout, /rackhand {2}deploying → deployed/);

  // Release both: the agent erases, the machines return to ready.
  const released = await Promise.all(['node-01', 'node-02'].map((m) => cli(['release', m, '--wait'])));
  for (const r of released) assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const m of ['node-01', 'node-02']) {
    assert.equal((await api(`/api/v1/machines/${m}`)).machine.state, 'ready');
    assert.ok(zeroes(join(dir, `${m}.raw`), 0, 16 << 20), `${m}: the first 16 MiB are erased`);
  }
  console.log(`# both released and erased at ${since()}`);

  const table = await cli(['machines']);
  console.log(table.stdout.trimEnd().split('\n').map((l) => `# ${l}`).join('\n'));
  const counts: Record<string, number> = {};
  for (const m of ['node-01', 'node-02']) for (const e of await events(m)) counts[e.kind] = (counts[e.kind] ?? 0) + 1;
  console.log(`# events: ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  passed = true;
});
