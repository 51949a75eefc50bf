// `rackhand serve --http-only --no-power` as a child process inside a test's namespace, on a
// fresh state directory with the known test tokens; resolves once HTTP listens.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Netns } from './netns.js';
import { prepareStateDir, REPO } from './daemon.js';
import { tempDir } from './tmp.js';

export const MAIN = join(REPO, 'daemon/cli/main.ts');

/** `wrap`: a command the daemon runs under (e.g. prlimit and its options). */
export async function serveInNamespace(ns: Netns, inventory: string, opts: { port: number; wrap?: string[] }): Promise<ChildProcess> {
  const state = tempDir('ns-state');
  prepareStateDir(state);
  const argv = [process.execPath, '--import', 'tsx', MAIN, 'serve', '--inventory', inventory, '--state-dir', state,
    '--port', String(opts.port), '--http-only', '--no-power'];
  const [cmd, ...args] = [...(opts.wrap ?? []), ...argv];
  const daemon = ns.spawn(cmd!, args, { cwd: REPO });
  await new Promise<void>((resolve, reject) => {
    let log = '';
    daemon.stdout!.on('data', (d: Buffer) => { log += d; if (log.includes('HTTP listening')) resolve(); });
    daemon.once('exit', (code) => reject(new Error(`serve exited ${code}: ${log}`)));
  });
  return daemon;
}
