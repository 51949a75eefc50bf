// The rig of the discovery attacks: the real daemon (`rackhand serve`: DHCP full mode, TFTP, HTTP)
// in one namespace on prov0 = 10.20.0.1/24, and an attacker namespace on the same link at
// 10.20.0.2 (a deployed tenant machine: it can send any DHCP packet and any HTTP request). The
// API is called from inside the daemon's namespace on loopback, as an operator on the host would.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { twoHostLink, type Link } from '../lib/netns.js';
import { REPO, ADMIN_TOKEN, prepareStateDir } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';
import { LAB_IMAGE_PROFILE } from '../../daemon/lab/lab.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import type { SqliteStore } from '../../daemon/core/store/sqlite.js';

export interface RigOptions {
  /** The `discovery:` value, in YAML (flow style). */
  discovery: string;
  pool: string;
  /** Extra `site.dhcp` lines, e.g. `discovered_pool_percent: 50`. */
  dhcpExtra?: string;
  /** Machine entries, YAML flow mappings. */
  machines?: string[];
}

export interface Rig {
  link: Link;
  dir: string;
  stateDir: string;
  /** The daemon's API, called from its own namespace. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** `rackhand ARGS…` against the daemon, as the admin. */
  cli(args: string[]): Promise<string>;
  /** rackhand_* samples of /metrics by `name{labels}`. */
  metrics(): Promise<Record<string, number>>;
  /** The daemon's SQLite store, opened alongside it (WAL: both may read and write). */
  store(): Promise<SqliteStore>;
  log(): string;
  close(): Promise<void>;
}

const URL_IN_NS = 'http://127.0.0.1:8080';

export async function startRig(o: RigOptions): Promise<Rig> {
  const dir = tempDir('sec-disc');
  const stateDir = join(dir, 'state');
  prepareStateDir(stateDir);
  writeFileSync(join(dir, 'inventory.yaml'), `site:
  interface: prov0
  address: 10.20.0.1
  http_port: 8080
  dhcp:
    mode: full
    subnet: 10.20.0.0/24
    router: 10.20.0.1
    pool: ${o.pool}
    lease_time: 3600
${o.dhcpExtra ? `    ${o.dhcpExtra}\n` : ''}  discovery: ${o.discovery}
  images_dir: ${join(REPO, 'boot-images')}
  templates_dir: ${join(REPO, 'templates')}
profiles:
${LAB_IMAGE_PROFILE}machines:${o.machines?.length ? '\n' + o.machines.map((m) => `  - ${m}\n`).join('') : ' []\n'}`);
  const link = await twoHostLink({ tag: 'secdis', serverIf: 'prov0', serverAddress: '10.20.0.1', clientAddress: '10.20.0.2' });
  let log = '';
  const daemon = link.server.spawn(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'serve',
    '--inventory', join(dir, 'inventory.yaml'), '--state-dir', stateDir, '--no-power'], { cwd: REPO });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`daemon not up in 30 s: ${log.slice(-2000)}`)), 30_000);
      daemon.stdout!.on('data', (b: Buffer) => { log = (log + b).slice(-200_000); if (log.includes('DHCP listening')) { clearTimeout(t); resolve(); } });
      daemon.stderr!.on('data', (b: Buffer) => { log = (log + b).slice(-200_000); });
      daemon.once('exit', (code) => { clearTimeout(t); reject(new Error(`daemon exited ${code}: ${log.slice(-2000)}`)); });
    });
  } catch (err) {
    await link.close();
    throw err;
  }
  const opened: SqliteStore[] = [];
  return {
    link, dir, stateDir,
    async api(method, path, body) {
      const out = await link.server.exec('curl', ['-sS', '-X', method, '-H', `authorization: Bearer ${ADMIN_TOKEN}`,
        ...(body !== undefined ? ['-H', 'content-type: application/json', '-d', JSON.stringify(body)] : []),
        '-w', '\n%{http_code}', `${URL_IN_NS}${path}`]);
      const i = out.lastIndexOf('\n');
      const text = out.slice(0, i);
      return { status: Number(out.slice(i + 1)), body: text ? JSON.parse(text) : {} };
    },
    cli: (args) => link.server.exec('env', [`RACKHAND_URL=${URL_IN_NS}`, `RACKHAND_TOKEN=${ADMIN_TOKEN}`,
      process.execPath, '--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), ...args]),
    async metrics() {
      const text = await link.server.exec('curl', ['-sS', `${URL_IN_NS}/metrics`]);
      const out: Record<string, number> = {};
      for (const line of text.split('\n')) {
        const m = /^(rackhand_\w+(?:\{[^}]*\})?) (\S+)$/.exec(line);
        if (m) out[m[1]!] = Number(m[2]);
      }
      return out;
    },
    async store() {
      const s = await openSqliteStore(join(stateDir, 'rackhand.db'));
      opened.push(s);
      return s;
    },
    log: () => log,
    async close() {
      for (const s of opened) await s.close();
      if (daemon.exitCode === null && daemon.signalCode === null) {
        const gone = new Promise((r) => daemon.once('exit', r));
        daemon.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
        if (daemon.exitCode === null && daemon.signalCode === null) { daemon.kill('SIGKILL'); await gone; }
      }
      await link.close();
    },
  };
}

/** A metric's value summed over the samples whose name and labels contain every `parts`. */
export function metric(m: Record<string, number>, ...parts: string[]): number {
  return Object.entries(m).filter(([k]) => parts.every((p) => k.includes(p))).reduce((n, [, v]) => n + v, 0);
}
