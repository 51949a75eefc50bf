// The boot-storm harness shared by tests/net/boot-storm.test.ts and bench/storm/run.ts: the
// daemon (DHCP full mode, TFTP, HTTP) in one namespace, COUNT simulated machines behind a DHCP
// relay in another (tests/lib/storm-client.ts), every machine being inspected. Returns what the
// clients saw, the machines' states afterwards, and the daemon's peak RSS. With `racks`, as many
// rack daemons on one PostgreSQL database, each with its own segment and share of the machines.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { twoHostLink, type Link } from './netns.js';
import { startPostgres } from './postgres.js';
import { REPO, ADMIN_TOKEN, prepareStateDir } from './daemon.js';
import { tempDir } from './tmp.js';
import { stormMac } from './machines.js';
import { cpuMs, peakRssMiB } from './proc.js';
import { LAB_IMAGE_PROFILE } from '../../daemon/lab/lab.js';

export interface StormSummary {
  clients: number;
  /** CPU time of the one client process (its whole life): beside the daemon's, what the two cores spent. */
  clientCpuMs: number;
  served: number;
  wallMs: number;
  bytes: number;
  dhcpRetransmits: number;
  httpRetries: number;
  phases: Record<string, { p50: number; p95: number; max: number }>;
  failures: { mac: string; stoppedAt: string; error: string }[];
}

/** Rack r (of a storm over racks): its server segment 10.(20+r).0.0/24, its relay's 10.(30+r).0.0/16. */
const segment = (r: number) => ({ rack: `rack-${'ab'[r]}`, iface: `rh${'ab'[r]}0`, server: `10.${20 + r}.0.1`, client: `10.${20 + r}.0.2`, relay: `10.${30 + r}.0.1`, relayNet: `10.${30 + r}.0.0/16` });
const machineName = (n: number) => `storm-${String(n).padStart(3, '0')}`;
/** Machines [first, first + count) of `count` split as evenly as can be over `racks`. */
const share = (count: number, racks: number, r: number) => {
  const first = Math.floor((count * r) / racks);
  return { first, count: Math.floor((count * (r + 1)) / racks) - first };
};

function dhcpOf(r: number): string {
  const s = segment(r);
  return `{ mode: full, subnet: 10.${20 + r}.0.0/24, relayed: [{ subnet: ${s.relayNet}, router: ${s.relay}, pool: 10.${30 + r}.1.0-10.${30 + r}.15.255 }] }`;
}

/**
 * What the simulated machines download as the agent's kernel and initrd. `agent`: the real ones
 * (about 16 MiB a machine: 33 GB for 2,000, which one client process on these 2 cores cannot read
 * in seconds). `small`: 256 KiB each in an images folder of the storm's own, so that the storm
 * measures the boot path itself (DHCP, TFTP, script, agent calls) at a size no loopback can carry
 * whole; the bytes moved are printed either way.
 */
export type StormPayload = 'agent' | 'small';
export const SMALL_AGENT_BYTES = 256 * 1024;

/** The images folder the daemon serves: the checkout's, or a copy with a small agent. */
function imagesDir(dir: string, payload: StormPayload): string {
  const repoImages = join(REPO, 'boot-images');
  if (payload === 'agent') return repoImages;
  const images = join(dir, 'images');
  mkdirSync(join(images, 'agent'), { recursive: true });
  mkdirSync(join(images, 'images'), { recursive: true });
  for (const f of ['undionly.kpxe', 'images/lab.raw.sha256']) copyFileSync(join(repoImages, f), join(images, f));
  for (const f of ['vmlinuz', 'initrd.img']) writeFileSync(join(images, 'agent', f), randomBytes(SMALL_AGENT_BYTES));
  return images;
}

function inventory(count: number, racks: number, images: string): string {
  const rackOf = (n: number) => Array.from({ length: racks }, (_, r) => r).find((r) => { const x = share(count, racks, r); return n < x.first + x.count; })!;
  const machines = Array.from({ length: count }, (_, n) => `  - { name: ${machineName(n)}, mac: "${stormMac(n)}", profile: lab-image${racks > 1 ? `, rack: ${segment(rackOf(n)).rack}` : ''} }\n`).join('');
  const where = racks > 1
    ? `racks:\n${Array.from({ length: racks }, (_, r) => `  ${segment(r).rack}: { interface: ${segment(r).iface}, address: ${segment(r).server}, dhcp: ${dhcpOf(r)} }\n`).join('')}`
    : '';
  return `site:
${racks > 1 ? '' : `  interface: prov0
  address: 10.20.0.1
  dhcp: ${dhcpOf(0)}
`}  http_port: 8080
  # Every simulated machine connects from the relay's one address, unlike a real rack.
  http_connections: { max: 100000, per_source: 100000 }
  images_dir: ${images}
  templates_dir: ${join(REPO, 'templates')}
${where}profiles:
${LAB_IMAGE_PROFILE}machines:
${machines}`;
}

/** daemonCpuMs: CPU time (user + system, all threads) the daemon used while the clients ran. */
export interface RackStorm { rack: string; summary: StormSummary; peakRssMiB: number; daemonCpuMs: number; metrics: string[] }

/**
 * `racks` > 1: one rack daemon each (`serve --rack`, its own namespace pair, relay and share of the
 * machines) on one throwaway PostgreSQL database, reached over its Unix socket; the clients of
 * every rack start together. The summary then adds the racks up (wall: the slowest rack's).
 */
export async function runStorm(count: number, spreadMs: number, opts: { racks?: number; payload?: StormPayload } = {}): Promise<{ summary: StormSummary; states: Record<string, number>; peakRssMiB: number; daemonCpuMs: number; metrics: string[]; daemonLog: string; racks: RackStorm[] }> {
  const racks = opts.racks ?? 1;
  // RACKHAND_STORM_NODE_ARGS: options for the daemon's node (e.g. --cpu-prof --cpu-prof-dir=DIR);
  // RACKHAND_STORM_CLIENT_NODE_ARGS: the same for the client process (its own --cpu-prof).
  const nodeArgs = process.env.RACKHAND_STORM_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const clientArgs = process.env.RACKHAND_STORM_CLIENT_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const dir = tempDir('storm');
  writeFileSync(join(dir, 'inventory.yaml'), inventory(count, racks, imagesDir(dir, opts.payload ?? 'agent')));
  const cluster = racks > 1 ? await startPostgres() : undefined;
  const links: Link[] = [];
  try {
    const store = cluster && `postgresql://${cluster.user}@localhost/${await cluster.createDatabase('storm')}?host=${encodeURIComponent(cluster.socketDir)}&port=${cluster.port}`;
    const daemons: { child: ChildProcess; log: () => string; link: Link }[] = [];
    for (let r = 0; r < racks; r++) {
      const s = segment(r);
      const link = await twoHostLink({ tag: `storm${r}`, serverIf: racks > 1 ? s.iface : 'prov0', serverAddress: s.server, clientAddress: s.client });
      links.push(link);
      // The relay's network behind the client side; every address of it local there, so each
      // simulated machine can speak HTTP from the address its lease gave it (boot secrets go nowhere else).
      await link.client.ip('addr', 'add', `${s.relay}/16`, 'dev', 'eth0');
      await link.client.ip('route', 'add', 'local', s.relayNet, 'dev', 'lo');
      await link.server.ip('route', 'add', s.relayNet, 'via', s.client, 'dev', link.serverIf);
      const state = join(dir, `state-${r}`);
      prepareStateDir(state);
      const child = link.server.spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'serve', '--inventory', join(dir, 'inventory.yaml'),
        '--state-dir', state, '--no-power', ...(store ? ['--store', store, '--rack', s.rack] : [])], { cwd: REPO });
      let log = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (b: Buffer) => { log = (log + b).slice(-20_000); if (log.includes('DHCP listening')) resolve(); });
        child.stderr!.on('data', (b: Buffer) => { log = (log + b).slice(-20_000); });
        child.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${log.slice(-2000)}`)));
      });
      daemons.push({ child, log: () => log, link });
    }
    // The API is the operator's: reached on the management side (loopback), not a rack's address.
    const api = (link: Link, method: string, paths: string[]) => link.server.exec('curl', ['-sS', '-X', method, '-H', `authorization: Bearer ${ADMIN_TOKEN}`,
      '-H', 'content-type: application/json', ...(method === 'POST' ? ['-d', '{}'] : []), '-w', '%{http_code}\n',
      ...paths.flatMap((p) => ['-o', '/dev/null', `http://127.0.0.1:8080${p}`])]);
    for (let r = 0; r < racks; r++) {
      const { first, count: n } = share(count, racks, r);
      const names = Array.from({ length: n }, (_, i) => machineName(first + i));
      const codes = (await api(links[r]!, 'POST', names.map((m) => `/api/v1/machines/${m}/actions/inspect`))).trim().split('\n');
      if (codes.some((c) => c !== '200')) throw new Error(`inspect: ${codes.filter((c) => c !== '200').length} refused`);
    }
    const cpuAtStart = daemons.map((d) => cpuMs(d.child.pid!));
    const summaries = await Promise.all(links.map(async (link, r) => {
      const { first, count: n } = share(count, racks, r);
      const out = await link.client.exec(process.execPath, [...clientArgs, '--import', 'tsx', join(REPO, 'tests/lib/storm-client.ts'), segment(r).server, segment(r).relay, String(n), String(spreadMs), String(first)]);
      return JSON.parse(out.trim().split('\n').pop()!) as StormSummary;
    }));
    const cpuDuring = daemons.map((d, r) => cpuMs(d.child.pid!) - cpuAtStart[r]!);
    // One store: the first daemon lists every rack's machines.
    const listing = JSON.parse(await links[0]!.server.exec('curl', ['-sS', '-H', `authorization: Bearer ${ADMIN_TOKEN}`, 'http://127.0.0.1:8080/api/v1/machines'])) as { machines: { state: string }[] };
    const states: Record<string, number> = {};
    for (const m of listing.machines) states[m.state] = (states[m.state] ?? 0) + 1;
    const perRack: RackStorm[] = [];
    for (const [r, d] of daemons.entries()) {
      const metrics = (await d.link.server.exec('curl', ['-sS', 'http://127.0.0.1:8080/metrics'])).split('\n')
        .filter((l) => /^rackhand_(tftp|dhcp)_\w+(\{[^}]*\})? [1-9]/.test(l));
      // The daemon is node under `ip netns exec`: its PID is the spawned one once ip execs.
      perRack.push({ rack: segment(r).rack, summary: summaries[r]!, peakRssMiB: peakRssMiB(d.child.pid!), daemonCpuMs: cpuDuring[r]!, metrics });
      d.child.kill('SIGTERM');
      await new Promise((res) => d.child.once('exit', res));
    }
    const summary: StormSummary = summaries.length === 1 ? summaries[0]! : {
      ...summaries[0]!,
      clients: count, clientCpuMs: summaries.reduce((a, x) => a + x.clientCpuMs, 0), served: summaries.reduce((a, x) => a + x.served, 0), wallMs: Math.max(...summaries.map((x) => x.wallMs)),
      bytes: summaries.reduce((a, x) => a + x.bytes, 0), dhcpRetransmits: summaries.reduce((a, x) => a + x.dhcpRetransmits, 0),
      httpRetries: summaries.reduce((a, x) => a + x.httpRetries, 0), failures: summaries.flatMap((x) => x.failures),
    };
    return {
      summary, states, peakRssMiB: Math.max(...perRack.map((x) => x.peakRssMiB)), daemonCpuMs: perRack.reduce((a, x) => a + x.daemonCpuMs, 0), metrics: perRack.flatMap((x) => x.metrics),
      daemonLog: daemons.map((d) => d.log()).join('\n'), racks: perRack,
    };
  } finally {
    for (const link of links) await link.close();
    await cluster?.stop();
  }
}
