// A throwaway PostgreSQL cluster for one test process, from Debian's packages (postgresql-NN):
// initdb and pg_ctl in a temporary folder, run as the `postgres` system user when we are root
// (PostgreSQL refuses to run as root) or as ourselves otherwise, listening on a Unix socket in
// that folder and on 127.0.0.1 at a free port, with password (scram) authentication over TCP.
// Each caller gets a fresh database (createDatabase) so suites stay independent. The cluster is
// stopped and its folder deleted by stop() (a suite's after()), on process exit, and on
// SIGINT/SIGTERM/SIGHUP; one left by a test process killed with -9 is swept at the next start.
import { chownSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { tempDir } from './tmp.js';
import { postgresBinDir, postgresRunner as runner, runPostgresTool as run } from '../../daemon/lab/postgres.js';

const TAG = 'pg';
const USER = 'rackhand';

export interface PgCluster {
  /** 127.0.0.1 and the cluster's port; user rackhand with `password`. */
  host: string;
  port: number;
  user: string;
  password: string;
  /** The folder of the Unix socket (trust authentication, for local tools such as psql). */
  socketDir: string;
  /** A new empty database, named after `tag`. */
  createDatabase(tag?: string): Promise<string>;
  /** node-postgres settings for `database` over TCP. */
  config(database: string): pg.PoolConfig;
  /** postgresql://rackhand:PASSWORD@127.0.0.1:PORT/DATABASE */
  url(database: string): string;
  /**
   * Restarts the server, fast mode: every connection is cut (clients see the server shut down),
   * and the same server comes back on the same port with the same data, after `downMs` down
   * (default: at once, pg_ctl restart).
   */
  restart(opts?: { downMs?: number }): Promise<void>;
  /**
   * Stops the server and keeps its data (`immediate`: no checkpoint, every connection cut, as in a
   * crash; `fast`: a clean shutdown that tells clients 57P01). For outage tests.
   */
  halt(mode?: 'immediate' | 'fast'): Promise<void>;
  /** Starts the halted server again on the same port and data. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export { postgresBinDir };

/** A TCP port on 127.0.0.1 free a moment ago (the cluster's; bench/alloc's daemons too). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// --- stopping: by the postmaster's pid, so it works from an exit handler and without the folder

const live = new Map<number, string>(); // postmaster pid → cluster folder
let hooksInstalled = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (no reaper in a container) counts as gone.
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Fast shutdown (SIGINT), SIGKILL after 10 s; then the folder goes. Synchronous: usable at exit. */
function stopSync(pid: number, dir: string): void {
  try { process.kill(pid, 'SIGINT'); } catch { /* gone */ }
  for (let waited = 0; alive(pid) && waited < 10_000; waited += 20) sleepSync(20);
  if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  rmSync(dir, { recursive: true, force: true });
  live.delete(pid);
}

async function stopAsync(pid: number, dir: string): Promise<void> {
  try { process.kill(pid, 'SIGINT'); } catch { /* gone */ }
  for (let waited = 0; alive(pid) && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  if (alive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  rmSync(dir, { recursive: true, force: true });
  live.delete(pid);
}

function stopAllSync(): void {
  for (const [pid, dir] of [...live]) stopSync(pid, dir);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Before tmp.ts's own exit handler deletes temporary folders: the server must be down first.
  process.prependListener('exit', stopAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => { stopAllSync(); process.exit(130); });
  }
  sweepStale();
}

/** Stops and deletes clusters whose test process died without doing it (kill -9). */
export function sweepStale(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(`rackhand-${TAG}-`)) continue;
    const dir = join(tmpdir(), name);
    let owner = 0;
    try { owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8')); } catch { continue; }
    if (!owner || alive(owner)) continue;
    let postmaster = 0;
    try { postmaster = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]); } catch { /* not running */ }
    if (postmaster && alive(postmaster)) stopSync(postmaster, dir);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts a cluster; its stop() is the caller's to call in after() (exit does it too). */
export async function startPostgres(): Promise<PgCluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (/usr/lib/postgresql/NN/bin): run make test-deps, or apt-get install postgresql');
  installHooks();
  const as = runner();
  const dir = tempDir(TAG);
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const password = `pw-${process.pid}-${Date.now().toString(36)}`;
  writeFileSync(join(dir, 'pwfile'), password + '\n', { mode: 0o600 });
  if (as.uid !== undefined) {
    chownSync(dir, as.uid, as.gid!);
    chownSync(join(dir, 'pwfile'), as.uid, as.gid!);
  }
  const data = join(dir, 'data');
  await run(join(bin, 'initdb'), ['-D', data, '-U', USER, `--pwfile=${join(dir, 'pwfile')}`, '--auth-local=trust',
    '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-locale', '--no-sync'], as);
  let port = 0;
  const pgCtlStart = () => run(join(bin, 'pg_ctl'), ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o',
    `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c max_connections=200`], as);
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      // Another process may take the port between freePort() and the server's bind: try another.
      await pgCtlStart();
      break;
    } catch (err) {
      if (attempt >= 3) throw new Error(`${(err as Error).message}\n${readFileSync(join(dir, 'server.log'), 'utf8')}`);
    }
  }
  const postmaster = () => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let pid = postmaster();
  live.set(pid, dir);

  const host = '127.0.0.1';
  const config = (database: string): pg.PoolConfig => ({ host, port, user: USER, password, database });
  let databases = 0;
  return {
    host, port, user: USER, password, socketDir: dir, config,
    url: (database) => `postgresql://${USER}:${encodeURIComponent(password)}@${host}:${port}/${database}`,
    async createDatabase(tag = 'test') {
      const name = `${tag.replace(/[^a-z0-9_]/g, '_')}_${++databases}`;
      const admin = new pg.Client(config('postgres'));
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.end();
      }
      return name;
    },
    async restart({ downMs = 0 } = {}) {
      if (downMs > 0) {
        await run(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60'], as);
        await new Promise((r) => setTimeout(r, downMs));
        await pgCtlStart();
      } else {
        // pg_ctl restart starts it with the options it was started with (postmaster.opts).
        await run(join(bin, 'pg_ctl'), ['restart', '-D', data, '-m', 'fast', '-w', '-t', '60', '-l', join(dir, 'server.log')], as);
      }
      live.delete(pid);
      pid = postmaster();
      live.set(pid, dir);
    },
    async halt(mode = 'immediate') {
      await run(join(bin, 'pg_ctl'), ['stop', '-D', data, '-w', '-t', '60', '-m', mode], as);
      live.delete(pid);
    },
    async resume() {
      await pgCtlStart();
      pid = postmaster();
      live.set(pid, dir);
    },
    async stop() {
      if (live.has(pid)) await stopAsync(pid, dir);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}
