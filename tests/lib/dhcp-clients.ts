// Real DHCP clients (busybox udhcpc, ISC dhclient) run inside a client namespace with a script
// that prints what they were given; shared by the DHCP network and security tests.
import { writeFileSync, chmodSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from './netns.js';

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
  const bound = await ns.exec('dhclient', ['-1', '-cf', conf, '-lf', join(dir, 'dhclient.leases'), '-pf', pidFile, '-sf', script, 'eth0'])
    .then(() => true, () => false);
  // The daemon child writes its PID file after the parent has returned: wait for it (left
  // dhclients renewing for hours were seen when it was read at once).
  for (let waited = 0; bound && !existsSync(pidFile) && waited < 3000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid > 1) process.kill(pid, 'SIGKILL');
  } catch { /* not running */ }
  rmSync(pidFile, { force: true });
  rmSync(join(dir, 'dhclient.leases'), { force: true });
  return parseLease(out);
}
