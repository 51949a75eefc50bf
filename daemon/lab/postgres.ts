// PostgreSQL from Debian's packages (postgresql-NN) for throwaway clusters: the lab's (`lab up
// --racks N`, where every rack daemon shares one database) and the tests' (tests/lib/postgres.ts).
// PostgreSQL refuses to run as root, so root runs it as the `postgres` system user.
//
// The lab's cluster lives in the lab's folder (pg/) and listens only on a Unix socket there: no
// TCP port, so nothing else on the host reaches it and nothing collides with another cluster.
// `lab down` stops it by its postmaster's PID and removes the folder with the rest of the lab.
import { spawn, type SpawnOptions } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The newest installed server's bin folder (/usr/lib/postgresql/NN/bin). */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(root, versions[0], 'bin');
}

export interface Runner { uid?: number; gid?: number }

/** Root runs the server as `postgres` (created by Debian's postgresql-common); anyone else as themselves. */
export function postgresRunner(): Runner {
  if (process.getuid?.() !== 0) return {};
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root and there is no postgres user: install postgresql (apt-get install postgresql)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Runs a PostgreSQL tool as `as`; resolves with its output, rejects with it on a non-zero exit. */
export function runPostgresTool(bin: string, args: string[], as: Runner, opts: SpawnOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { ...as, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${bin} ${args.join(' ')} exited ${code}: ${out.trim()}`))));
  });
}

const LAB_USER = 'rackhand';
const LAB_DATABASE = 'rackhand';
const labPgDir = (labDir: string) => join(labDir, 'pg');

/** The store URL of the lab's database: its Unix socket folder as libpq's `host`, no password (trust, local only). */
export function labPostgresUrl(labDir: string): string {
  return `postgresql:///${LAB_DATABASE}?host=${encodeURIComponent(labPgDir(labDir))}&user=${LAB_USER}`;
}

/** Creates and starts the lab's cluster and its database; returns the store URL. */
export async function startLabPostgres(labDir: string): Promise<string> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (/usr/lib/postgresql/NN/bin): apt-get install postgresql');
  const as = postgresRunner();
  const dir = labPgDir(labDir);
  const closed = as.uid === undefined ? undefined : closedAncestor(labDir, as.uid);
  if (closed) throw new Error(`the postgres user cannot pass through ${closed} to reach the lab's database: chmod o+x ${closed}, or use another --dir`);
  mkdirSync(dir, { mode: 0o700 });
  if (as.uid !== undefined) chownSync(dir, as.uid, as.gid!);
  const tool = (name: string, args: string[]) => runPostgresTool(join(bin, name), args, as, { cwd: dir });
  const data = join(dir, 'data');
  await tool('initdb', ['-D', data, '-U', LAB_USER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
  // listen_addresses empty: the Unix socket only. fsync off: the lab's data is thrown away anyway.
  await tool('pg_ctl', ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o',
    `-c listen_addresses= -c unix_socket_directories=${dir} -c max_connections=100 -c fsync=off`]);
  await tool('createdb', ['-h', dir, '-U', LAB_USER, LAB_DATABASE]);
  return labPostgresUrl(labDir);
}

/** The first folder from `/` down to `dir` that user `uid` may not pass through (no x for it). */
function closedAncestor(dir: string, uid: number): string | undefined {
  const parts = resolve(dir).split('/').filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const p = '/' + parts.slice(0, i).join('/');
    const st = statSync(p);
    if (!(st.mode & 0o001) && !(st.uid === uid && st.mode & 0o100)) return p;
  }
  return undefined;
}

/** The lab's postmaster PID, from its data folder; undefined when it is not there. */
export function labPostmasterPid(labDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(labPgDir(labDir), 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
