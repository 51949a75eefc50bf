// Runs the rackhand CLI from the checkout (through tsx) and returns its exit code and output,
// a failing exit included: tests assert on all three.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from './daemon.js';

const run = promisify(execFile);
export const CLI_MAIN = join(REPO, 'daemon/cli/main.ts');

export interface CliResult { code: number; stdout: string; stderr: string }

export async function runCli(args: string[], env: Record<string, string> = {}, timeout = 0): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], { env: { ...process.env, ...env }, cwd: REPO, timeout });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  log: () => string;
}

/**
 * `rackhand serve` as a child process listening on 127.0.0.1 (a free port), HTTP only; resolves
 * once it listens, rejects (with its exit code and log) if it exits first. The caller ends it.
 */
export function serveProcess(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, 'serve', '--listen', '127.0.0.1', '--port', '0', '--http-only', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let log = '';
  return new Promise((resolve, reject) => {
    const take = (d: Buffer) => {
      log += d;
      const m = /HTTP listening on 127\.0\.0\.1:(\d+)/.exec(log);
      if (m) resolve({ url: `http://127.0.0.1:${m[1]}`, child, log: () => log });
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    child.on('exit', (code) => reject(Object.assign(new Error(`serve exited ${code}: ${log}`), { code, log, child })));
  });
}
