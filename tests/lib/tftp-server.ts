// The TFTP server as a child process inside a namespace (tests/lib/tftp-server-child.ts), for the
// TFTP net tests and bench/tftp: started on its settings, asked for its stats, closed.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from './netns.js';
import type { TftpStats } from '../../daemon/tftp/index.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./tftp-server-child.ts', import.meta.url));

export interface ChildServer {
  /** The server process (the command `prefix` wraps execs into it). */
  pid: number;
  port: number;
  maxBlockSize: number;
  stats(): Promise<TftpStats>;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts the server child in `ns`; `prefix` wraps the command (the bench pins it with taskset),
 * `nodeArgs` go to its node (the bench's --cpu-prof).
 */
export async function startChildServer(ns: Netns, settings: Record<string, unknown>, prefix: string[] = [], nodeArgs: string[] = []): Promise<ChildServer> {
  const argv = [process.execPath, ...nodeArgs, '--import', 'tsx', CHILD, JSON.stringify(settings)];
  const all = [...prefix, ...argv];
  const child: ChildProcess = ns.spawn(all[0]!, all.slice(1), { cwd: REPO });
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((v: Record<string, unknown>) => void)[] = [];
  let ready: ((v: Record<string, unknown>) => void) | undefined;
  const readyLine = new Promise<Record<string, unknown>>((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new Error(`tftp child exited (${code}) before ready: ${stderr.join('')}`)));
  });
  lines.on('line', (line) => {
    const msg = JSON.parse(line) as Record<string, unknown>;
    if (msg.ready) ready?.(msg.ready as Record<string, unknown>);
    else waiting.shift()?.(msg);
  });
  const info = await readyLine;
  return {
    pid: child.pid!,
    port: info.port as number,
    maxBlockSize: info.maxBlockSize as number,
    async stats() {
      const reply = new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve));
      child.stdin!.write('stats\n');
      return (await reply).stats as TftpStats;
    },
    logs: () => stderr.join(''),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.stdin!.end('close\n');
      const timer = setTimeout(() => { if (child.pid) process.kill(child.pid, 'SIGKILL'); }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
