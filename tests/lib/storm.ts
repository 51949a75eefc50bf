// The boot-storm harness shared by tests/net/boot-storm.test.ts and bench/storm/run.ts: the
// daemon (DHCP full mode, TFTP, HTTP) in one namespace, COUNT simulated machines behind a DHCP
// relay in another (tests/lib/storm-client.ts), every machine being inspected. Returns what the
// clients saw, the machines' states afterwards, and the daemon's peak RSS.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { twoHostLink } from './netns.js';
import { REPO, ADMIN_TOKEN, prepareStateDir } from './daemon.js';
import { tempDir } from './tmp.js';
import { stormMac } from './machines.js';
import { peakRssMiB } from './proc.js';
import { LAB_IMAGE_PROFILE } from '../../daemon/lab/lab.js';

export interface StormSummary {
  clients: number;
  served: number;
  wallMs: number;
  bytes: number;
  dhcpRetransmits: number;
  httpRetries: number;
  phases: Record<string, { p50: number; p95: number; max: number }>;
  failures: { mac: string; stoppedAt: string; error: string }[];
}

function inventory(count: number): string {
  const machines = Array.from({ length: count }, (_, n) => `  - { name: storm-${String(n).padStart(3, '0')}, mac: "${stormMac(n)}", profile: lab-image }\n`).join('');
  return `site:
  interface: prov0
  address: 10.20.0.1
  http_port: 8080
  # Every simulated machine connects from the relay's one address, unlike a real rack.
  http_connections: { max: 100000, per_source: 100000 }
  dhcp:
    mode: full
    subnet: 10.20.0.0/24
    relayed:
      - { subnet: 10.30.0.0/16, router: 10.30.0.1, pool: 10.30.1.0-10.30.4.255 }
  images_dir: ${join(REPO, 'boot-images')}
  templates_dir: ${join(REPO, 'templates')}
profiles:
${LAB_IMAGE_PROFILE}machines:
${machines}`;
}

export async function runStorm(count: number, spreadMs: number): Promise<{ summary: StormSummary; states: Record<string, number>; peakRssMiB: number; metrics: string[]; daemonLog: string }> {
  const dir = tempDir('storm');
  writeFileSync(join(dir, 'inventory.yaml'), inventory(count));
  const state = join(dir, 'state');
  prepareStateDir(state);
  const link = await twoHostLink({ tag: 'storm', serverIf: 'prov0', serverAddress: '10.20.0.1', clientAddress: '10.20.0.2' });
  try {
    // The relay's network: 10.30.0.0/16 behind the client side.
    await link.client.ip('addr', 'add', '10.30.0.1/16', 'dev', 'eth0');
    // Every address of the relay's network is local to the client side, so each simulated
    // machine can speak HTTP from the address its lease gave it (boot secrets go nowhere else).
    await link.client.ip('route', 'add', 'local', '10.30.0.0/16', 'dev', 'lo');
    await link.server.ip('route', 'add', '10.30.0.0/16', 'via', '10.20.0.2', 'dev', 'prov0');
    const daemon = link.server.spawn(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'serve', '--inventory', join(dir, 'inventory.yaml'), '--state-dir', state, '--no-power'], { cwd: REPO });
    let log = '';
    await new Promise<void>((resolve, reject) => {
      daemon.stdout!.on('data', (b: Buffer) => { log += b; if (log.includes('DHCP listening')) resolve(); });
      daemon.stderr!.on('data', (b: Buffer) => { log += b; });
      daemon.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${log.slice(-2000)}`)));
    });
    // Keep the last of the log: a failed storm shows it.
    daemon.stdout!.on('data', (b: Buffer) => { log = (log + b).slice(-20_000); });
    const api = (method: string, paths: string[]) => link.server.exec('curl', ['-sS', '-X', method, '-H', `authorization: Bearer ${ADMIN_TOKEN}`,
      '-H', 'content-type: application/json', ...(method === 'POST' ? ['-d', '{}'] : []), '-w', '%{http_code}\n',
      // The API is the operator's: reached on the management side (loopback), not site.address.
      ...paths.flatMap((p) => ['-o', '/dev/null', `http://127.0.0.1:8080${p}`])]);
    const names = Array.from({ length: count }, (_, n) => `storm-${String(n).padStart(3, '0')}`);
    const codes = (await api('POST', names.map((m) => `/api/v1/machines/${m}/actions/inspect`))).trim().split('\n');
    if (codes.some((c) => c !== '200')) throw new Error(`inspect: ${codes.filter((c) => c !== '200').length} refused`);
    const out = await link.client.exec(process.execPath, ['--import', 'tsx', join(REPO, 'tests/lib/storm-client.ts'), '10.20.0.1', '10.30.0.1', String(count), String(spreadMs)]);
    const summary = JSON.parse(out.trim().split('\n').pop()!) as StormSummary;
    const listing = JSON.parse(await link.server.exec('curl', ['-sS', '-H', `authorization: Bearer ${ADMIN_TOKEN}`, 'http://127.0.0.1:8080/api/v1/machines'])) as { machines: { state: string }[] };
    const metrics = (await link.server.exec('curl', ['-sS', 'http://127.0.0.1:8080/metrics'])).split('\n')
      .filter((l) => /^rackhand_(tftp|dhcp)_\w+(\{[^}]*\})? [1-9]/.test(l));
    const states: Record<string, number> = {};
    for (const m of listing.machines) states[m.state] = (states[m.state] ?? 0) + 1;
    // The daemon is node under `ip netns exec`: its PID is the spawned one once ip execs.
    const peakRss = peakRssMiB(daemon.pid!);
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    return { summary, states, peakRssMiB: peakRss, metrics, daemonLog: log };
  } finally {
    await link.close();
  }
}
