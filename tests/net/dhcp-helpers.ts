// Shared pieces of the DHCP network tests: the server child, and the real clients (busybox udhcpc,
// ISC dhclient) run inside a client namespace with a script that prints what they were given.
import { mkdtempSync, writeFileSync, chmodSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from '../lib/netns.js';
import type { ChildConfig } from './dhcp-server-child.js';

const CHILD = join(import.meta.dirname, 'dhcp-server-child.ts');

export const SITE = {
  interface: 'prov0', address: '10.20.0.1', http_port: 8080,
  dhcp: { mode: 'full', subnet: '10.20.0.0/24', router: '10.20.0.1', dns: ['10.20.0.1'], pool: '10.20.0.100-10.20.0.199', lease_time: 3600 },
};

export function tempDir(tag: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `rh-dhcp-${tag}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ServerChild {
  child: ChildProcess;
  pid: number;
  metrics(): Promise<Record<string, number>>;
  /** Sum of rackhand_dhcp_drops_total over every reason, or for one. */
  drops(reason?: string): Promise<number>;
  stop(): Promise<void>;
  stderr(): string;
}

export async function startServer(ns: Netns, dir: string, config: Omit<ChildConfig, 'db'> & { db?: string },
  opts: { nodeArgs?: string[]; prefix?: string[] } = {}): Promise<ServerChild> {
  const file = join(dir, `server-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify({ db: join(dir, 'rackhand.db'), ...config }));
  const argv = [...(opts.prefix ?? []), process.execPath, ...(opts.nodeArgs ?? []), '--import', 'tsx', CHILD, file];
  const child = ns.spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: Record<string, unknown>) => void)[] = [];
  lines.on('line', (l) => {
    let msg: Record<string, unknown>;
    try { msg = JSON.parse(l) as Record<string, unknown>; } catch { return; }
    waiting.shift()?.(msg);
  });
  const next = (timeoutMs: number) => new Promise<Record<string, unknown>>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server child: no answer in ${timeoutMs} ms; stderr: ${err.slice(-2000)}`)), timeoutMs);
    const onExit = () => { clearTimeout(t); reject(new Error(`server child exited (${child.exitCode}); stderr: ${err.slice(-2000)}`)); };
    child.once('exit', onExit);
    waiting.push((m) => { clearTimeout(t); child.off('exit', onExit); resolve(m); });
  });
  const ready = await next(20_000);
  const pid = ready.pid as number;
  const metrics = async () => {
    child.stdin!.write('metrics\n');
    return (await next(5000)).metrics as Record<string, number>;
  };
  return {
    child, pid, metrics,
    async drops(reason?: string) {
      const m = await metrics();
      return Object.entries(m).filter(([k]) => k.startsWith('rackhand_dhcp_drops_total{') && (!reason || k.includes(`reason=${reason}}`)))
        .reduce((n, [, v]) => n + v, 0);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      process.kill(pid, 'SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } await gone; }
    },
    stderr: () => err,
  };
}

/** What a client was given, from the environment its script saw (names per client). */
export type Lease = Record<string, string>;

/** A client script that writes its environment to `out` when the client is bound. */
function writeScript(path: string, out: string): void {
  rmSync(out, { force: true });
  writeFileSync(path, `#!/bin/sh\ncase "$1$reason" in bound|BOUND|REBOOT) env | sed "s/^/LEASE /" > ${out} ;; esac\nexit 0\n`);
  chmodSync(path, 0o755);
}

function parseLease(file: string): Lease | undefined {
  let out = '';
  try { out = readFileSync(file, 'utf8'); } catch { return undefined; }
  const lines = out.split('\n').filter((l) => l.startsWith('LEASE '));
  if (!lines.length) return undefined;
  return Object.fromEntries(lines.map((l) => { const s = l.slice(6); const i = s.indexOf('='); return [s.slice(0, i), s.slice(i + 1)]; }));
}

export async function setMac(ns: Netns, ifname: string, mac: string): Promise<void> {
  await ns.ip('link', 'set', ifname, 'down');
  await ns.ip('link', 'set', ifname, 'address', mac);
  await ns.ip('link', 'set', ifname, 'up');
}

/**
 * busybox udhcpc: -x adds raw options (93 arch, 77 user class), -V the vendor class; one try per
 * second, three tries. Returns udhcpc's environment at "bound" (ip, siaddr, boot_file, …) or
 * undefined when no lease came.
 */
export async function udhcpc(ns: Netns, dir: string, o: { vendor?: string; arch?: number; userClass?: string; arp?: boolean; tries?: number } = {}): Promise<Lease | undefined> {
  const script = join(dir, 'udhcpc.sh');
  const out = join(dir, 'udhcpc.env');
  writeScript(script, out);
  const args = ['udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', String(o.tries ?? 3), '-T', '1', '-s', script, '-O', '66', '-O', '67'];
  if (o.vendor) args.push('-V', o.vendor);
  if (o.arch !== undefined) args.push('-x', `93:${o.arch.toString(16).padStart(4, '0')}`);
  if (o.userClass) args.push('-x', `77:${Buffer.from(o.userClass).toString('hex')}`);
  if (o.arp) args.push('-a500');
  await ns.exec('busybox', args).catch(() => undefined);
  return parseLease(out);
}

/** ISC dhclient with a config that sends the vendor class and option 93 as PXE firmware does. */
export async function dhclient(ns: Netns, dir: string, o: { vendor: string; arch: number; userClass?: string; timeout?: number }): Promise<Lease | undefined> {
  const conf = join(dir, 'dhclient.conf');
  const script = join(dir, 'dhclient.sh');
  const out = join(dir, 'dhclient.env');
  writeScript(script, out);
  writeFileSync(conf, [
    `timeout ${o.timeout ?? 6};`, 'retry 1;', 'initial-interval 1;',
    'option pxe-arch code 93 = unsigned integer 16;',
    `send vendor-class-identifier "${o.vendor}";`,
    `send pxe-arch ${o.arch};`,
    ...(o.userClass ? [`send user-class "${o.userClass}";`] : []),
    'request subnet-mask, routers, domain-name-servers, host-name, tftp-server-name, bootfile-name;', '',
  ].join('\n'));
  const pidFile = join(dir, 'dhclient.pid');
  // Without -d, dhclient returns once bound (or exits 2 after `timeout`), leaving a daemon behind
  // that renews: it is stopped by the PID it wrote, and only that one.
  await ns.exec('dhclient', ['-1', '-cf', conf, '-lf', join(dir, 'dhclient.leases'), '-pf', pidFile, '-sf', script, 'eth0'])
    .catch(() => undefined);
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid > 1) process.kill(pid, 'SIGKILL');
  } catch { /* not running */ }
  rmSync(pidFile, { force: true });
  rmSync(join(dir, 'dhclient.leases'), { force: true });
  return parseLease(out);
}
