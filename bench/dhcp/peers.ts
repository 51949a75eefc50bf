// The three servers of the DHCP benchmark, each started inside the server namespace on prov0 with
// the same subnet, pool and boot file, pinned to one core: Rackhand (SQLite leases), Kea 2.2
// (memfile, persist) and dnsmasq 2.90 (lease file) — or, given a PostgreSQL database each
// (--store pg), Rackhand and Kea with their leases there.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from '../../tests/lib/netns.js';
import { startServer } from '../../tests/lib/dhcp-server.js';
import { perfdhcpMacs } from '../../tests/lib/perfdhcp.js';
import { BENCH_NODE_ARGS } from '../node-args.js';

export const SUBNET = '10.20.0.0/16';
export const POOL = ['10.20.1.0', '10.20.255.254'] as const;
export const SERVER_ADDRESS = '10.20.0.1';
/** Rackhand's site in every DHCP bench: full mode over the bench's subnet and pool. */
export const RACKHAND_SITE = {
  interface: 'prov0', address: SERVER_ADDRESS, http_port: 8080,
  dhcp: { mode: 'full', subnet: SUBNET, router: SERVER_ADDRESS, pool: POOL.join('-'), lease_time: 3600 },
};

/**
 * How every DHCP bench runs perfdhcp: pinned to core 1 (the server has core 0), and single-threaded.
 * perfdhcp picks its threading from the CPUs the machine has, not the ones it may run on: pinned
 * to one core, its default receiver thread only takes turns with its sender on that core, and at
 * 12,000 exchanges/s it lost 2,500–4,900 replies in its own receive buffer where `-g single` lost
 * 200–740 (bench/dhcp/where-lost.ts, against Rackhand, session 9). The same client for every server.
 */
export const PERFDHCP_CLIENT = { local: '10.20.0.2', server: SERVER_ADDRESS, prefix: ['taskset', '-c', '1'], extra: ['-g', 'single'] };

export interface Peer {
  name: string;
  pid: number;
  stop(): Promise<void>;
}

// rackhand-dgram: Rackhand with RACKHAND_UDPBATCH=0 (Node's dgram, not the batched UDP addon).
export type PeerName = 'rackhand' | 'rackhand-dgram' | 'kea' | 'dnsmasq';

/** A database of its own on the shared server, reached over its Unix socket (the server namespace has no route to 127.0.0.1 of the host). */
export interface PgLeases { socketDir: string; port: number; user: string; password: string; database: string }

async function stopChild(child: ChildProcess): Promise<void> {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGTERM');
  const t = setTimeout(() => { try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 5000);
  await gone;
  clearTimeout(t);
}

function watch(child: ChildProcess, name: string): void {
  let err = '';
  child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  child.once('exit', (code, sig) => { if (code) process.stderr.write(`${name} exited ${code ?? sig}: ${err}\n`); });
}

export async function startPeer(name: PeerName, ns: Netns, dir: string, opts: { clients: number; core: string; pg?: PgLeases }): Promise<Peer> {
  const pin = ['taskset', '-c', opts.core];
  if (name === 'rackhand' || name === 'rackhand-dgram') {
    const site = RACKHAND_SITE;
    const machines = perfdhcpMacs(opts.clients).map((mac, i) => ({ name: `perf-${i}`, mac }));
    // Syncing thousands of machines into PostgreSQL on a loaded host can take longer than the usual 20 s.
    const postgres = opts.pg && { host: opts.pg.socketDir, port: opts.pg.port, user: opts.pg.user, password: opts.pg.password, database: opts.pg.database };
    const s = await startServer(ns, dir, { site, machines, ...(postgres ? { postgres } : {}) }, {
      prefix: [...(name === 'rackhand-dgram' ? ['env', 'RACKHAND_UDPBATCH=0'] : []), ...pin],
      nodeArgs: BENCH_NODE_ARGS, // --cpu-prof: the server's profile under perfdhcp
      ...(postgres ? { readyTimeoutMs: 180_000 } : {}),
    });
    return { name, pid: s.pid, stop: () => s.stop() };
  }
  if (name === 'kea') {
    const conf = join(dir, 'kea-dhcp4.json');
    writeFileSync(conf, JSON.stringify({
      Dhcp4: {
        'interfaces-config': { interfaces: ['prov0'], 'dhcp-socket-type': 'udp' },
        'lease-database': opts.pg
          ? { type: 'postgresql', name: opts.pg.database, host: opts.pg.socketDir, port: opts.pg.port, user: opts.pg.user, password: opts.pg.password }
          : { type: 'memfile', persist: true, name: join(dir, 'kea-leases4.csv'), 'lfc-interval': 0 },
        'valid-lifetime': 3600,
        'subnet4': [{
          id: 1, subnet: SUBNET, pools: [{ pool: `${POOL[0]} - ${POOL[1]}` }],
          'next-server': SERVER_ADDRESS, 'boot-file-name': 'ipxe.efi',
          'option-data': [{ name: 'routers', data: SERVER_ADDRESS }],
        }],
        loggers: [{ name: 'kea-dhcp4', output_options: [{ output: 'stderr' }], severity: 'WARN' }],
      },
    }));
    // Kea 2.2 puts its PID and lock files in system directories unless told otherwise.
    const child = ns.spawn('env', [`KEA_PIDFILE_DIR=${dir}`, `KEA_LOCKFILE_DIR=${dir}`, ...pin, 'kea-dhcp4', '-c', conf]);
    watch(child, 'kea');
    return { name, pid: child.pid!, stop: () => stopChild(child) };
  }
  const child = ns.spawn(pin[0]!, [...pin.slice(1), 'dnsmasq', '--no-daemon', '--port=0', '--conf-file=/dev/null', '--interface=prov0',
    '--bind-interfaces', `--dhcp-range=${POOL[0]},${POOL[1]},255.255.0.0,1h`, `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
    `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--no-ping', '--dhcp-lease-max=200000', `--dhcp-boot=ipxe.efi,,${SERVER_ADDRESS}`,
    '--quiet-dhcp']);
  watch(child, 'dnsmasq');
  return { name, pid: child.pid!, stop: () => stopChild(child) };
}
