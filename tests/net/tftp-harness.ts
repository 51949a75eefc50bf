// Shared by the TFTP net tests: a namespace pair, a root directory of test files, the server
// running as a child process inside the server namespace, and helpers to run real clients.
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { execFile, type ChildProcess } from 'node:child_process';
import { twoHostLink, type Link, type Netns } from '../lib/netns.js';
import type { TftpStats } from '../../daemon/tftp/index.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./tftp-server-child.ts', import.meta.url));
export const RAW_SENDER = fileURLToPath(new URL('./tftp-raw-sender.ts', import.meta.url));
export const CLIENT_ADDRESS = '10.20.0.50';

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

export interface Fixture { dir: string; root: string; out: string; hashes: Record<string, string>; remove(): void }

/** A root with random files of the given sizes, a secret outside it and a symlink escaping to it. */
export function makeRoot(sizes: Record<string, number>): Fixture {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rh-tftp-net-'));
  const root = path.join(dir, 'root');
  const out = path.join(dir, 'out');
  mkdirSync(root);
  mkdirSync(out);
  const hashes: Record<string, string> = {};
  for (const [name, size] of Object.entries(sizes)) {
    const data = randomBytes(size);
    writeFileSync(path.join(root, name), data);
    hashes[name] = createHash('sha256').update(data).digest('hex');
  }
  writeFileSync(path.join(dir, 'secret'), 'outside the root\n');
  symlinkSync('../secret', path.join(root, 'escape'));
  writeFileSync(path.join(root, 'motd.txt'), 'line one\nline two\n');
  return { dir, root, out, hashes, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ChildServer {
  port: number;
  maxBlockSize: number;
  stats(): Promise<TftpStats>;
  logs(): string;
  stop(): Promise<void>;
}

/** Starts the server child in `ns`; `prefix` wraps the command (the bench pins it with taskset). */
export async function startChildServer(ns: Netns, settings: Record<string, unknown>, prefix: string[] = []): Promise<ChildServer> {
  const argv = [process.execPath, '--import', 'tsx', CHILD, JSON.stringify(settings)];
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

export interface Bench { link: Link; fixture: Fixture; server: ChildServer; close(): Promise<void> }

/** Link + root + server child; close() undoes all three, whatever state they are in. */
export async function setup(tag: string, sizes: Record<string, number>, settings: Record<string, unknown> = {}): Promise<Bench> {
  const fixture = makeRoot(sizes);
  let link: Link | undefined;
  try {
    link = await twoHostLink({ tag, clientAddress: CLIENT_ADDRESS });
    const server = await startChildServer(link.server, { root: fixture.root, address: link.serverAddress, port: 69, ...settings });
    const l = link;
    return { link: l, fixture, server, async close() { await server.stop().catch(() => undefined); await l.close(); fixture.remove(); } };
  } catch (err) {
    await link?.close();
    fixture.remove();
    throw err;
  }
}

/** Runs a command in a namespace; resolves with its exit code and output instead of throwing. */
export function tryExec(ns: Netns, cmd: string, args: string[], timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns.name, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
  });
}
