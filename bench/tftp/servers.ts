// The three servers of the TFTP benchmark, each started inside the server namespace pinned to
// one core, listening on the server address, port 69, serving the same root.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Netns } from '../../tests/lib/netns.js';
import { startChildServer } from '../../tests/lib/tftp-server.js';
import { BENCH_NODE_ARGS } from '../node-args.js';

export interface RunningServer { pid: number; stop(): Promise<void> }
export interface ServerDef {
  name: string;
  /** Whether it honours RFC 7440 windowsize (else the option is ignored: lock-step). */
  windowsize: boolean;
  start(ns: Netns, root: string, address: string, cpu: string): Promise<RunningServer>;
}

const PEERS_SCRIPT = fileURLToPath(new URL('./peers.sh', import.meta.url));

/** Unpacks tftpd-hpa and atftpd if needed; returns the directory holding them. */
export function peersDir(): string {
  return execFileSync(PEERS_SCRIPT, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

async function waitForPort(ns: Netns, child: ChildProcess, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const listing = await ns.exec('ss', ['-Hlun', `sport = :${port}`]);
    if (listing.trim() !== '') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on udp port ${port}`);
}

async function spawnPeer(ns: Netns, argv: string[]): Promise<RunningServer> {
  const child = ns.spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  try {
    await waitForPort(ns, child, 69);
  } catch (err) {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    throw new Error(`${argv.join(' ')}: ${(err as Error).message}\n${stderr}`);
  }
  return {
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || !child.pid) return;
      const exited = once(child, 'exit');
      process.kill(child.pid, 'SIGTERM');
      const t = setTimeout(() => { if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL'); }, 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

export function serverDefs(peers: string): ServerDef[] {
  return [
    {
      name: 'Rackhand',
      windowsize: true,
      async start(ns, root, address, cpu) {
        const s = await startChildServer(ns, { root, address, port: 69, maxTransfers: 1024 }, ['taskset', '-c', cpu], BENCH_NODE_ARGS);
        return { pid: s.pid, stop: () => s.stop() };
      },
    },
    {
      // The same server on Node's dgram (the fallback when the batched UDP addon is missing).
      name: 'Rackhand-dgram',
      windowsize: true,
      async start(ns, root, address, cpu) {
        const s = await startChildServer(ns, { root, address, port: 69, maxTransfers: 1024 }, ['env', 'RACKHAND_UDPBATCH=0', 'taskset', '-c', cpu], BENCH_NODE_ARGS);
        return { pid: s.pid, stop: () => s.stop() };
      },
    },
    {
      name: 'tftpd-hpa',
      windowsize: false,
      // -L: foreground; -s: chroot into the root (its usual secure mode); -u: the user it drops to.
      start: (ns, root, address, cpu) => spawnPeer(ns,
        ['taskset', '-c', cpu, path.join(peers, 'tftpd-hpa/usr/sbin/in.tftpd'), '-L', '-a', `${address}:69`, '-u', 'nobody', '-s', root]),
    },
    {
      name: 'atftpd',
      windowsize: true,
      start: (ns, root, address, cpu) => spawnPeer(ns,
        ['taskset', '-c', cpu, path.join(peers, 'atftpd/usr/sbin/atftpd'), '--daemon', '--no-fork', '--bind-address', address,
          '--port', '69', '--user', 'nobody', '--group', 'nogroup', '--maxthread', '200', '--logfile', '/dev/null', root]),
    },
  ];
}
