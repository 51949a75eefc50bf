// A daemon for a benchmark: `rackhand serve --http-only --no-power` in its own process (so the
// benchmark's client never shares its event loop), on loopback at a free port, with a state
// directory holding the test tokens (tests/lib/daemon.ts ADMIN_TOKEN), on SQLite in that
// directory or on the PostgreSQL URL given. bench/alloc and bench/ui start theirs here.
import { spawn, type ChildProcess } from 'node:child_process';
import { prepareStateDir, REPO } from '../tests/lib/daemon.js';
import { freePort } from '../tests/lib/postgres.js';
import { MAIN } from '../tests/lib/serve-in-ns.js';
import { tempDir } from '../tests/lib/tmp.js';

export interface Served { child: ChildProcess; url: string; stateDir: string }

export async function serve(inventory: string, store: string | undefined): Promise<Served> {
  const stateDir = tempDir('bench-state');
  prepareStateDir(stateDir);
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--inventory', inventory, '--state-dir', stateDir,
    '--listen', '127.0.0.1', '--port', String(port), '--http-only', '--no-power', '--log-level', 'warn', ...(store ? ['--store', store] : [])],
  { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => { log = (log + d).slice(-4000); });
  child.stderr!.on('data', (d: Buffer) => { log = (log + d).slice(-4000); });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${log}`);
    if (await fetch(`${url}/metrics`).then((r) => r.ok, () => false)) break;
    if (i > 600) throw new Error(`serve did not listen in 60 s: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, stateDir };
}

export async function stop(s: Served): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const gone = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await gone;
}
