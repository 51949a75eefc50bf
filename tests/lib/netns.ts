// Network namespaces for tests: created per test run with a unique name, deleted on every exit
// path (normal end, thrown error, SIGINT/SIGTERM). Deleting a namespace removes its veths, taps
// and bridges with it, and the kernel kills nothing for us: processes started inside are the
// caller's to stop, which spawnIn() tracks.
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
// RACKHAND_NETNS_PREFIX: a prefix of one's own, so that parallel runs never sweep each other's.
export const NETNS_PREFIX = process.env.RACKHAND_NETNS_PREFIX ?? 'rhT';

const liveNamespaces = new Set<string>();
const liveChildren = new Set<ChildProcess>();
let hooksInstalled = false;

function cleanupSync(): void {
  for (const child of liveChildren) {
    if (child.exitCode === null && child.pid) {
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
  liveChildren.clear();
  for (const name of liveNamespaces) {
    try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }); } catch { /* gone */ }
  }
  liveNamespaces.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => { cleanupSync(); process.exit(130); });
  }
  sweepStale();
}

/** Deletes namespaces left by earlier test processes that died without cleaning up (kill -9). */
export function sweepStale(): void {
  let listing = '';
  try { listing = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }); } catch { return; }
  for (const line of listing.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try { process.kill(pid, 0); } catch { alive = false; }
    if (!alive) { try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }); } catch { /* gone */ } }
  }
}

export async function run(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

export class Netns {
  private constructor(readonly name: string) {}

  /** Creates a namespace named rhT<pid>-<tag>-<random>, with loopback up. */
  static async create(tag: string): Promise<Netns> {
    installHooks();
    const name = `${NETNS_PREFIX}${process.pid}-${tag.slice(0, 6)}-${randomBytes(2).toString('hex')}`;
    await run('ip', ['netns', 'add', name]);
    liveNamespaces.add(name);
    const ns = new Netns(name);
    await ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  ip(...args: string[]): Promise<string> {
    return run('ip', ['-n', this.name, ...args]);
  }

  exec(cmd: string, args: string[]): Promise<string> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args]);
  }

  /** Starts a long-running process inside the namespace; it is killed at exit if still alive. */
  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', ...opts });
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    return child;
  }

  /** A bridge br0 with `address` (CIDR) and a tap0 on it, all up: where one QEMU machine's NIC plugs in. */
  async bridgeWithTap(address: string): Promise<void> {
    await this.ip('link', 'add', 'br0', 'type', 'bridge');
    await this.ip('addr', 'add', address, 'dev', 'br0');
    await this.ip('link', 'set', 'br0', 'up');
    await this.ip('tuntap', 'add', 'tap0', 'mode', 'tap');
    await this.ip('link', 'set', 'tap0', 'master', 'br0');
    await this.ip('link', 'set', 'tap0', 'up');
  }

  async delete(): Promise<void> {
    if (!liveNamespaces.has(this.name)) return;
    liveNamespaces.delete(this.name);
    await run('ip', ['netns', 'del', this.name]).catch(() => undefined);
  }
}

export interface Link {
  server: Netns;
  client: Netns;
  /** Interface names inside each namespace. */
  serverIf: string;
  clientIf: string;
  serverAddress: string;
  prefixLength: number;
  close(): Promise<void>;
}

/**
 * Two namespaces joined by a veth pair: the server side gets `serverAddress/prefixLength`,
 * the client side stays unconfigured (DHCP clients configure it) unless clientAddress is given.
 */
export async function twoHostLink(opts: {
  tag: string;
  serverIf?: string;
  serverAddress?: string;
  prefixLength?: number;
  clientAddress?: string;
  clientMac?: string;
}): Promise<Link> {
  const serverIf = opts.serverIf ?? 'prov0';
  const clientIf = 'eth0';
  const serverAddress = opts.serverAddress ?? '10.20.0.1';
  const prefixLength = opts.prefixLength ?? 24;
  const server = await Netns.create(`${opts.tag}s`);
  const client = await Netns.create(`${opts.tag}c`);
  try {
    await server.ip('link', 'add', serverIf, 'type', 'veth', 'peer', 'name', clientIf, 'netns', client.name);
    if (opts.clientMac) await client.ip('link', 'set', clientIf, 'address', opts.clientMac);
    await server.ip('addr', 'add', `${serverAddress}/${prefixLength}`, 'dev', serverIf);
    await server.ip('link', 'set', serverIf, 'up');
    if (opts.clientAddress) await client.ip('addr', 'add', `${opts.clientAddress}/${prefixLength}`, 'dev', clientIf);
    await client.ip('link', 'set', clientIf, 'up');
  } catch (err) {
    await server.delete();
    await client.delete();
    throw err;
  }
  return {
    server, client, serverIf, clientIf, serverAddress, prefixLength,
    async close() { await client.delete(); await server.delete(); },
  };
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
