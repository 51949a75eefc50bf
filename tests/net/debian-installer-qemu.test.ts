// The real Debian installer through Rackhand, in QEMU (TCG, BIOS): `rackhand serve` (DHCP, TFTP,
// HTTP) in a network namespace on a bridge, a VM on a tap of that bridge. A machine with the
// debian-preseed profile is deployed; the VM's NIC ROM (iPXE, from ipxe-qemu) asks DHCP, gets its
// per-machine script, and loads d-i's kernel and initrd (boot-images/fetch-debian-installer.sh)
// from Rackhand with the profile's command line. d-i configures the network (hostname= and
// domain= from that line), fetches its preseed with the operation's token, runs the preseed's
// early_command, which reports "installer started" to Rackhand, and goes on with the preseed's
// answers until it needs a package mirror, which this network has none of. The test reads the
// installer's own log (d-i's syslogd sends it with log_host=, DEBCONF_DEBUG=5 shows each debconf
// answer) and Rackhand's boot trace and events, then ends QEMU by its PID.
// Measured here (TCG, 2 shared cores): 145–247 s in all; from QEMU's start, kernel and initrd
// loaded by iPXE at 22–25 s, preseed fetched at 83–135 s, start reported at 105–185 s, stopped
// at the mirror question at 142–240 s (README, Real operating systems: installers). The test
// prints its figures.
// Run it under `flock /tmp/rackhand-qemu.lock` (make test runs the QEMU suites one at a time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Netns } from '../lib/netns.js';
import { tempDir } from '../lib/tmp.js';
import { ADMIN_TOKEN, REPO, prepareStateDir } from '../lib/daemon.js';
import { CLI_MAIN } from '../lib/cli.js';

const IMAGES = join(REPO, 'boot-images');
const built = ['installers/debian/linux', 'installers/debian/initrd.gz'].every((f) => existsSync(join(IMAGES, f)));
const haveRom = existsSync('/usr/lib/ipxe/qemu/efi-virtio.rom') || existsSync('/usr/share/qemu/efi-virtio.rom');
const M = { name: 'node-03', mac: '52:54:00:00:01:03', ip: '10.20.0.13', hostname: 'node-03' } as const;
const DOMAIN = 'installer.test';
const SYSLOG_PORT = 5514;
const WAIT_MS = Number(process.env.INSTALLER_VM_TIMEOUT ?? 900_000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function inventory(dir: string): string {
  const file = join(dir, 'inventory.yaml');
  // The shipped profile's command line, plus what the test reads: the console on the serial port,
  // every debconf answer in the log, and d-i's syslog sent to the test's listener.
  const shipped = readFileSync(join(REPO, 'inventory.yaml'), 'utf8');
  const cmdline = /debian-preseed:[\s\S]*?\n {4}cmdline: "([^"]+)"/.exec(shipped)![1]!;
  writeFileSync(file, `site:
  interface: br0
  address: 10.20.0.1
  http_port: 8080
  domain: ${DOMAIN}
  images_dir: ${IMAGES}
  templates_dir: ${join(REPO, 'templates')}
  dhcp: { mode: full, subnet: 10.20.0.0/24, router: 10.20.0.1, dns: [10.20.0.1] }
profiles:
  debian-preseed:
    kind: installer
    kernel: installers/debian/linux
    initrd: installers/debian/initrd.gz
    cmdline: "${cmdline} console=ttyS0 DEBCONF_DEBUG=5 log_host=10.20.0.1 log_port=${SYSLOG_PORT}"
    answer: preseed/debian.cfg.j2
machines:
  - { name: ${M.name}, mac: "${M.mac}", ip: ${M.ip}, hostname: ${M.hostname}, profile: debian-preseed, power: { driver: manual } }
`);
  return file;
}

test('the Debian installer boots from Rackhand, fetches its preseed with the operation\'s token, applies it and reports its start',
  { skip: (!built && 'installer not fetched (make boot-images)') || (!haveRom && 'no iPXE NIC ROM (ipxe-qemu)'), timeout: WAIT_MS + 120_000 }, async () => {
    const dir = tempDir('debian-installer');
    const state = join(dir, 'state');
    prepareStateDir(state);
    const ns = await Netns.create('dinst');
    const children: ChildProcess[] = [];
    let daemonLog = '';
    let syslog = '';
    const started = Date.now();
    const since = () => `${Math.round((Date.now() - started) / 1000)} s`;
    try {
      await ns.bridgeWithTap('10.20.0.1/24');

      const daemon = ns.spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, 'serve', '--inventory', inventory(dir), '--state-dir', state, '--no-power'], { cwd: REPO });
      children.push(daemon);
      await new Promise<void>((resolve, reject) => {
        daemon.stdout!.on('data', (b: Buffer) => { daemonLog = (daemonLog + b).slice(-50_000); if (daemonLog.includes('DHCP listening') && daemonLog.includes('HTTP listening')) resolve(); });
        daemon.stderr!.on('data', (b: Buffer) => { daemonLog = (daemonLog + b).slice(-50_000); });
        daemon.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${daemonLog.slice(-3000)}`)));
      });
      // The installer's own log: d-i's syslogd sends every line here (log_host=, log_port=).
      const listener = ns.spawn(process.execPath, ['-e', `require('dgram').createSocket('udp4')
        .on('message', (m) => process.stdout.write(m.toString().replace(/\\n?$/, '\\n'))).bind(${SYSLOG_PORT}, '10.20.0.1')`]);
      children.push(listener);
      listener.stdout!.on('data', (b: Buffer) => { syslog = (syslog + b).slice(-4_000_000); });

      const curl = (args: string[]) => ns.exec('curl', ['-sS', '-m', '20', ...args]);
      const api = async (method: string, path: string) => JSON.parse(await curl(['-X', method, '-H', `authorization: Bearer ${ADMIN_TOKEN}`,
        '-H', 'content-type: application/json', ...(method === 'POST' ? ['-d', '{}'] : []), `http://127.0.0.1:8080${path}`]));
      // Ready first: inspected, as the agent would report it (from the machine's address, held by
      // this namespace only for these calls; the agent itself in QEMU is agent-qemu.test.ts's job).
      await api('POST', `/api/v1/machines/${M.name}/actions/inspect`);
      await ns.ip('addr', 'add', `${M.ip}/32`, 'dev', 'lo');
      try {
        const asMachine = (args: string[]) => curl(['--interface', M.ip, ...args]);
        const nonce = /rackhand\.nonce=(\S+)/.exec(await asMachine([`http://10.20.0.1:8080/boot/${M.mac}.ipxe`]))![1]!;
        const token = /^agent_token='([^']+)'$/m.exec(await asMachine(['-d', `nonce=${nonce}`, 'http://10.20.0.1:8080/v1/agent/nonce']))![1]!;
        const facts = JSON.stringify({ cpus: 1, memory_mib: 1024, arch: 'x86_64', disks: [{ name: 'vda', size_bytes: 2 ** 33 }], nics: [{ name: 'ens3', mac: M.mac }] });
        await asMachine(['-H', `x-rackhand-agent-token: ${token}`, '--data-urlencode', 'step=inspect', '--data-urlencode', 'status=done',
          '--data-urlencode', `facts=${facts}`, 'http://10.20.0.1:8080/v1/agent/report']);
      } finally {
        await ns.ip('addr', 'del', `${M.ip}/32`, 'dev', 'lo');
      }
      assert.equal((await api('GET', `/api/v1/machines/${M.name}`)).machine.state, 'ready');
      assert.equal((await api('POST', `/api/v1/machines/${M.name}/actions/deploy`)).machine.state, 'deploying');
      const op = (await api('GET', `/api/v1/machines/${M.name}`)).machine.operation;

      // BIOS, network first: the virtio NIC's option ROM is iPXE, which DHCP answers with the script's URL.
      const serial = join(dir, 'console.log');
      const qemu = ns.spawn('qemu-system-x86_64', ['-accel', 'tcg', '-m', '1024', '-nodefaults', '-display', 'none', '-no-reboot',
        '-boot', 'n', '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', '-device', `virtio-net-pci,netdev=n0,mac=${M.mac}`,
        '-serial', `file:${serial}`]);
      children.push(qemu);
      let qemuErr = '';
      qemu.stderr!.on('data', (b: Buffer) => { qemuErr += b; });
      const vmStarted = Date.now();
      const vmSince = () => `${Math.round((Date.now() - vmStarted) / 1000)} s`;

      type Entry = { kind: string; outcome: string; summary: string; detail: Record<string, any>; at?: string };
      const trace = async () => (await api('GET', `/api/v1/machines/${M.name}/boot-trace`)).entries as Entry[];
      const events = async () => (await api('GET', `/api/v1/events?machine=${M.name}&limit=1000`)).events as { event: string; cause: string; time: string }[];
      const console_ = () => (existsSync(serial) ? readFileSync(serial, 'latin1') : '');
      const seen: Record<string, string> = {};
      const mark = (what: string, ok: boolean) => { if (ok && !seen[what]) { seen[what] = vmSince(); console.log(`# ${what}: ${seen[what]} after QEMU started`); } };
      // The installer's own log as it asked debconf: each GET and the answer on a following line.
      const answered = (question: string, value: string) =>
        new RegExp(`debconf: --> GET ${question.replace(/\//g, '\\/')}\\n(?:.*\\n){0,3}?.*debconf: <-- 0 ${value.replace(/\./g, '\\.')}\\n`).test(syslog);
      // Where d-i stops: the first question it must ask (at priority critical, with everything
      // else answered), which on this network can only be about the missing mirror.
      const stoppedAt = () => /debconf: --> INPUT critical (\S+)\n(?:(?![^\n]*debconf:)[^\n]*\n)?[^\n]*debconf: <-- 0 question will be asked/.exec(syslog)?.[1];
      const goals = () => ['answer fetched', 'installer started event', 'hostname applied', 'domain applied', 'early_command ran',
        'preseeded locale used', 'stopped at a question'].every((g) => seen[g]);
      while (!goals()) {
        if (Date.now() - vmStarted > WAIT_MS) break;
        if (qemu.exitCode !== null) break;
        await sleep(3000);
        // Only what happened since QEMU started (the test fetched the script itself for the inspection).
        const t = (await trace()).filter((e) => e.at !== undefined && Date.parse(e.at) >= vmStarted);
        mark('script served', t.some((e) => e.kind === 'http' && e.detail.path === `/boot/${M.mac}.ipxe` && e.detail.status === 200));
        mark('kernel and initrd fetched', t.some((e) => e.kind === 'http' && e.detail.path === '/boot/installers/debian/initrd.gz' && e.detail.status === 200 && e.outcome === 'ok'));
        mark('answer fetched', t.some((e) => e.kind === 'http' && e.detail.path === '/v1/answer/[redacted]' && e.detail.status === 200));
        mark('installer started event', (await events()).some((e) => e.event === 'installer_started'));
        mark('hostname applied', answered('netcfg/get_hostname', M.hostname));
        mark('domain applied', answered('netcfg/get_domain', DOMAIN));
        mark('early_command ran', syslog.includes(`preseed: running preseed command preseed/early_command: wget -q -T 5 -t 2 -O /dev/null --post-data= 'http://10.20.0.1:8080/v1/installer/`));
        mark('preseeded locale used', syslog.includes("localechooser: info: Preseeded debian-installer/locale = 'en_US.UTF-8'"));
        mark('stopped at a question', stoppedAt() !== undefined);
      }
      const waited = vmSince();
      if (qemu.exitCode === null) qemu.kill('SIGKILL'); // by its PID: the ip-netns-exec child is QEMU itself (exec)
      const redact = (s: string) => s.replace(/\/v1\/(answer|installer|phone-home|nocloud)\/[\w-]+/g, '/v1/$1/TOKEN');
      assert.ok(goals(), `after ${waited}: seen ${JSON.stringify(seen)}; qemu: ${qemuErr}\nsyslog (tail):\n${redact(syslog.slice(-4000))}\n`
        + `console (tail):\n${console_().replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-B]/g, '').slice(-2000)}\ndaemon:\n${daemonLog.slice(-2000)}`);

      // What Rackhand saw: the boot trace (DHCP from the NIC ROM's iPXE, the script, the files, the
      // answer, the report), the event, the operation's step.
      // Nothing the preseed or the command line answers was asked: the answers applied.
      const question = stoppedAt()!;
      assert.ok(!/^(netcfg|debian-installer\/locale|keyboard-configuration|mirror\/(country|http\/(hostname|directory|proxy))|passwd|partman|time|clock-setup)/.test(question),
        `d-i asked ${question}, which the preseed answers`);
      console.log(`# d-i stopped at the question ${question} (no mirror on this network)`);
      const t = await trace();
      const steps = t.map((e) => `${e.kind} ${e.outcome} ${redact(e.summary)}`);
      for (const s of steps) console.log(`# trace: ${s}`);
      assert.ok(t.some((e) => e.kind === 'dhcp' && e.detail.ipxe === true && /\.ipxe$/.test(String(e.detail.file))), 'iPXE asked DHCP and got its script URL');
      for (const path of [`/boot/${M.mac}.ipxe`, '/boot/installers/debian/linux', '/boot/installers/debian/initrd.gz', '/v1/answer/[redacted]', '/v1/installer/[redacted]/started']) {
        assert.ok(t.some((e) => e.kind === 'http' && e.detail.path === path && e.outcome === 'ok'), `${path} in the trace:\n${steps.join('\n')}`);
      }
      const script = t.findLast((e) => e.detail.path === `/boot/${M.mac}.ipxe`) as Entry & { text?: string };
      assert.match(script.text ?? '', new RegExp(`auto=true priority=critical url=http://10\\.20\\.0\\.1:8080/v1/answer/\\[redacted\\] hostname=${M.hostname} domain=${DOMAIN.replace('.', '\\.')} console=ttyS0`));
      const ev = (await events()).filter((e) => e.event === 'installer_started');
      assert.equal(ev.length, 1, 'one start event');
      assert.equal(ev[0]!.cause, `the installer started (reported from ${M.ip})`);
      const m = (await api('GET', `/api/v1/machines/${M.name}`)).machine;
      assert.equal(m.state, 'deploying', 'no phone-home: the install cannot finish without a mirror');
      assert.equal(m.operation.id, op.id);
      assert.equal(m.operation.step, 'installer');
      const cli = await ns.exec('env', [`RACKHAND_URL=http://127.0.0.1:8080`, `RACKHAND_TOKEN=${ADMIN_TOKEN}`, process.execPath, '--import', 'tsx', CLI_MAIN, 'events', M.name]);
      assert.match(cli, /installer_started/);
      console.log(`# rackhand events ${M.name}:\n${cli.trim().split('\n').map((l) => `#   ${l}`).join('\n')}`);
      // The installer's own log, as it read its answers (token hidden).
      for (const re of [/debconf: --> GET netcfg\/get_hostname\n(?:.*\n){0,3}?.*<-- 0 .*/, /debconf: --> GET netcfg\/get_domain\n(?:.*\n){0,3}?.*<-- 0 .*/,
        /.*preseed: running preseed command preseed\/early_command.*/, /.*localechooser: info: Preseeded.*/, /.*choose-mirror.*deb\.debian\.org.*/]) {
        console.log(`# d-i: ${redact(re.exec(syslog)?.[0] ?? '(none)').replace(/\n/g, ' | ')}`);
      }
      console.log(`# done at ${since()} (QEMU ran ${waited})`);
    } finally {
      for (const c of children.reverse()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await sleep(200);
      await ns.delete();
    }
  });
