// The DHCP server as a child process in a namespace (tests/lib/dhcp-server-child.ts), for the
// DHCP network tests and bench/dhcp: started on a JSON config, asked for its metrics, stopped.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from './netns.js';
import type { ChildConfig } from './dhcp-server-child.js';

const CHILD = join(import.meta.dirname, 'dhcp-server-child.ts');

export const SITE = {
  interface: 'prov0', address: '10.20.0.1', http_port: 8080,
  dhcp: { mode: 'full', subnet: '10.20.0.0/24', router: '10.20.0.1', dns: ['10.20.0.1'], pool: '10.20.0.100-10.20.0.199', lease_time: 3600 },
};

export interface ServerChild {
  child: ChildProcess;
  pid: number;
  metrics(): Promise<Record<string, number>>;
  /** Sum of rackhand_dhcp_drops_total over every reason, or for one. */
  drops(reason?: string): Promise<number>;
  stop(): Promise<void>;
  stderr(): string;
}

export async function startServer(ns: Netns, dir: string, config: Omit<ChildConfig, 'db'> & { db?: string },
  opts: { nodeArgs?: string[]; prefix?: string[]; readyTimeoutMs?: number } = {}): Promise<ServerChild> {
  const file = join(dir, `server-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify({ db: join(dir, 'rackhand.db'), ...config }));
  const argv = [...(opts.prefix ?? []), process.execPath, ...(opts.nodeArgs ?? []), '--import', 'tsx', CHILD, file];
  const child = ns.spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: Record<string, unknown>) => void)[] = [];
  lines.on('line', (l) => {
    let msg: Record<string, unknown>;
    try { msg = JSON.parse(l) as Record<string, unknown>; } catch { return; }
    waiting.shift()?.(msg);
  });
  const next = (timeoutMs: number) => new Promise<Record<string, unknown>>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server child: no answer in ${timeoutMs} ms; stderr: ${err.slice(-2000)}`)), timeoutMs);
    const onExit = () => { clearTimeout(t); reject(new Error(`server child exited (${child.exitCode}); stderr: ${err.slice(-2000)}`)); };
    child.once('exit', onExit);
    waiting.push((m) => { clearTimeout(t); child.off('exit', onExit); resolve(m); });
  });
  const ready = await next(opts.readyTimeoutMs ?? 20_000);
  const pid = ready.pid as number;
  const metrics = async () => {
    child.stdin!.write('metrics\n');
    return (await next(5000)).metrics as Record<string, number>;
  };
  return {
    child, pid, metrics,
    async drops(reason?: string) {
      const m = await metrics();
      return Object.entries(m).filter(([k]) => k.startsWith('rackhand_dhcp_drops_total{') && (!reason || k.includes(`reason=${reason}}`)))
        .reduce((n, [, v]) => n + v, 0);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      process.kill(pid, 'SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } await gone; }
    },
    stderr: () => err,
  };
}
