// A real operating system through the lab: the Debian 12 cloud image that
// boot-images/build-debian-cloud.sh builds (systemd, Debian's cloud-init, OpenSSH) deployed on a
// BIOS machine behind ipmi_sim and a UEFI (OVMF) machine behind the lab's Redfish BMC. The agent
// writes and verifies the image and gives it the seed URL; the machine boots it from disk; its
// own cloud-init reads Rackhand's NoCloud data, applies the static network-config, creates the
// user with the test's SSH key and phones home with its phone_home module, which moves the
// machine to deployed. Then the host logs in over SSH with that key and looks at the system.
// Measured here (TCG, 2 shared cores): 523–640 s, of which 301–478 s the agent writing and
// verifying the 494 MiB image and 75–126 s from the reboot to the phone-home (README, Real
// operating systems).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';
import { runCli } from '../lib/cli.js';

const run = promisify(execFile);
const IMAGES = join(REPO, 'boot-images');
const built = ['agent/initrd.img', 'images/lab.raw.gz', 'images/debian-12-cloud.raw.zst', 'images/debian-12-cloud.raw.sha256']
  .every((f) => existsSync(join(IMAGES, f)));
const haveSsh = existsSync('/usr/bin/ssh') && existsSync('/usr/bin/ssh-keygen');
const dir = join(tempDir('debian-cloud'), 'lab');
const key = join(dir, '..', 'id_ed25519');
const env = { RACKHAND_URL: 'http://169.254.210.2:8080', RACKHAND_STATE_DIR: join(dir, 'state'), RACKHAND_TOKEN: '' };
const MACHINES = [
  { name: 'node-01', ip: '10.20.0.11', firmware: 'bios' },
  { name: 'node-02', ip: '10.20.0.12', firmware: 'uefi' },
] as const;
const started = Date.now();
const since = () => `${Math.round((Date.now() - started) / 1000)} s`;

const cli = (args: string[], timeout = 900_000) => runCli(args, env, timeout);

async function api(path: string): Promise<any> {
  const token = JSON.parse(readFileSync(join(dir, 'state/tokens.json'), 'utf8')).tokens[0].token;
  const res = await fetch(env.RACKHAND_URL + path, { headers: { authorization: `Bearer ${token}` } });
  return res.json();
}

/** A command on the deployed machine, as user rackhand with the user-data's key, from the host. */
async function ssh(ip: string, command: string): Promise<string> {
  const { stdout } = await run('ssh', ['-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'ConnectTimeout=20', '-o', 'LogLevel=ERROR', `rackhand@${ip}`, command], { timeout: 120_000 });
  return stdout;
}

const consoleOf = (m: string) => { try { return readFileSync(join(dir, `${m}.console.log`), 'utf8'); } catch { return ''; } };

before(async () => {
  if (!built || !haveSsh) return;
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'rackhand-test', '-f', key]);
  const up = await cli(['lab', 'up', '--machines', String(MACHINES.length), '--dir', dir, '--ssh-key', `${key}.pub`], 120_000);
  assert.equal(up.code, 0, up.stderr + up.stdout);
});

after(async () => {
  if (!built || !haveSsh) return;
  const down = await cli(['lab', 'down', '--dir', dir], 60_000);
  assert.equal(down.code, 0, down.stderr);
  assert.doesNotMatch((await run('ip', ['route'])).stdout, /^10\.20\.0\.0\/24 /m, 'lab down removes the host route to the machines');
});

test('Debian 12 cloud image, BIOS and UEFI: real cloud-init applies the NoCloud data, phones home, and the user logs in over SSH',
  { skip: (!built && 'boot images not built (make boot-images)') || (!haveSsh && 'no ssh client (openssh-client)') }, async () => {
    const inspected = await Promise.all(MACHINES.map((m) => cli(['inspect', m.name, '--wait'])));
    for (const r of inspected) assert.equal(r.code, 0, r.stdout + r.stderr);
    console.log(`# both inspected at ${since()}`);

    // Each deploy: PXE → agent writes the image (zstd) and the seed → reboot → disk → cloud-init → phone home.
    const t0 = Date.now();
    const deployed = await Promise.all(MACHINES.map(async (m) => {
      const r = await cli(['deploy', m.name, '--profile', 'debian-12-cloud', '--wait']);
      return { ...r, seconds: Math.round((Date.now() - t0) / 1000) };
    }));
    for (const [i, r] of deployed.entries()) {
      const m = MACHINES[i]!;
      assert.equal(r.code, 0, `${m.name}: ${r.stdout}${r.stderr}\nconsole:\n${consoleOf(m.name).slice(-4000)}`);
      assert.match(r.stdout, new RegExp(`${m.name}: deployed$`, 'm'));
      console.log(`# ${m.name} (${m.firmware}) deployed in ${r.seconds} s`);
    }
    for (const m of MACHINES) {
      const log = (await cli(['log', m.name])).stdout;
      const line = (re: RegExp) => log.split('\n').find((l) => re.test(l)) ?? '(none)';
      // The agent's lines carry the daemon's clock: image start to verified is the write's time.
      for (const re of [/agent +image: http/, /image: \d+ bytes written/, /configure: metadata URL/, /deploying → deployed/]) console.log(`# ${m.name}: ${line(re)}`);
      const events = (await api(`/api/v1/events?machine=${m.name}&limit=1000`)).events as { event: string; cause: string; at?: string }[];
      const phoned = events.find((e) => e.event === 'deployed');
      // cloud-init's phone_home (post: all): a form with the instance id, names and host keys.
      assert.match(phoned?.cause ?? '', new RegExp(`^phoned home from ${m.ip.replace(/\./g, '\\.')} \\(posted instance_id, hostname, fqdn, pub_key_rsa, pub_key_ecdsa, pub_key_ed25519, pub_key_dsa\\)$`));
      const finished = /Cloud-init v\. 22\.4\.2 finished[^\n]*Datasource (\S+)[^\n]*Up ([\d.]+) seconds/.exec(consoleOf(m.name));
      assert.ok(finished, `${m.name}: cloud-init did not finish; console:\n${consoleOf(m.name).slice(-4000)}`);
      assert.equal(finished[1], 'DataSourceNoCloudNet');
      console.log(`# ${m.name}: cloud-init finished ${finished[2]} s after the kernel started`);
    }

    // From the host: the key from the user-data, the reserved address (static), the hostname.
    for (const m of MACHINES) {
      const out = await ssh(m.ip, 'hostname; ip -4 -o addr show scope global; cat /etc/systemd/network/10-cloud-init-*.network; ' +
        'cloud-init status --long; sudo -n cat /var/lib/cloud/data/instance-id; sudo -n grep -h "Read from" /var/log/cloud-init.log');
      assert.match(out, new RegExp(`^${m.name}\n`));
      assert.match(out, new RegExp(`inet ${m.ip.replace(/\./g, '\\.')}/24 `));
      assert.match(out, /^DHCP=no$/m, 'the address is configured static, not leased');
      assert.match(out, new RegExp(`^Address=${m.ip.replace(/\./g, '\\.')}/24$`, 'm'));
      assert.match(out, /^status: done$/m);
      assert.match(out, /NoCloudNet \[seed=[^\]]*http:\/\/10\.20\.0\.1:8080\/v1\/nocloud\//);
      const op = (await api(`/api/v1/machines/${m.name}/operations?limit=1`)).operations?.[0]?.id;
      assert.ok(op, 'the deployment\'s operation');
      assert.match(out, new RegExp(`^${op}$`, 'm'), 'the instance id is the deployment\'s');
      // What real cloud-init fetched from Rackhand (the README quotes these lines), token hidden.
      for (const l of out.split('\n').filter((l) => l.includes('Read from'))) console.log(`# ${m.name}: ${l.replace(/\/v1\/([a-z-]+)\/[\w-]+/, '/v1/$1/TOKEN')}`);
    }
    console.log(`# logged in to both over SSH at ${since()}`);
  });
