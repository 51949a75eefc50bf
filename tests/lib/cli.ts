// Runs the rackhand CLI from the checkout (through tsx) and returns its exit code and output,
// a failing exit included: tests assert on all three.
import { execFile } from 'node:child_process';
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
