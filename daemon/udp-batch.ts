// Batched UDP datagrams through the small addon in daemon/native/udpbatch.c (recvmmsg/sendmmsg,
// built by `make build`): one wake-up reads up to 64 datagrams and hands them over in one call; the
// replies of one event-loop turn leave in one sendmmsg. When the addon is missing — a checkout that
// was never built, no C compiler, not Linux — servers use Node's dgram instead, and say so once.
// RACKHAND_UDPBATCH=0 forces that fallback for DHCP and TFTP alike (tests run both ways). TFTP's
// transfer sockets (daemon/tftp/socket-batched.ts) use the connected-socket half (udpconn.c).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './version.js';

/** What the addon exports (see udpbatch.c for the layout of `meta`). */
export interface UdpBatchAddon {
  /**
   * n < 0 is -errno of a socket error (buf and meta undefined). `shared`: buf and meta are the same
   * two objects on every call, views of the socket's slab valid only until the callback returns.
   */
  open(port: number, ifindex: number, rcvbuf: number, onBatch: (buf: Buffer, meta: Uint32Array, n: number) => void,
    address?: number, shared?: boolean, batch?: number, slot?: number): unknown;
  send(handle: unknown, buf: Buffer, meta: Uint32Array, errs: Int32Array, start: number): number;
  close(handle: unknown): void;
  port(handle: unknown): number;
  connect(handle: unknown, address: number, port: number): void;
  /** One datagram to the connected peer: 0, or -errno. */
  write(handle: unknown, buf: Buffer): number;
  /** A run of datagrams [prefix i, data slice i] (see udpconn.c): how many went, or -errno when none did. */
  sendRun(handle: unknown, prefixes: Buffer, prefixStart: number, prefixLen: number, data: Buffer, offset: number,
    stride: number, count: number, lastLen: number): number;
}

export const UDPBATCH_PATH = join(PACKAGE_ROOT, 'build', 'native', 'udpbatch.node');

export function loadUdpBatch(env: NodeJS.ProcessEnv = process.env, path = UDPBATCH_PATH): { addon?: UdpBatchAddon; why?: string } {
  if (process.platform !== 'linux') return { why: 'recvmmsg/sendmmsg are used on Linux only' };
  if (env.RACKHAND_UDPBATCH === '0') return { why: 'RACKHAND_UDPBATCH=0 turned it off' };
  if (!existsSync(path)) return { why: `${path} is not built (make build)` };
  try {
    return { addon: createRequire(import.meta.url)(path) as UdpBatchAddon };
  } catch (err) {
    return { why: `${path}: ${(err as Error).message}` };
  }
}

const META = 4;
// The first name of each number: EAGAIN, as Node itself reports it, not its alias EWOULDBLOCK.
const ERRNO_NAMES = new Map<number, string>();
for (const [name, n] of Object.entries(constants.errno)) if (!ERRNO_NAMES.has(n)) ERRNO_NAMES.set(n, name);

/** An errno from the addon as Node reports it: an Error whose code is the errno's name. */
export function errnoError(errno: number, what: string): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
  return Object.assign(new Error(`${what} ${code}`), { code, errno });
}

export interface Datagram {
  msg: Buffer;
  address: string;
  port: number;
}

let lastAddress = '';
let lastNumber = 0;

/** Replies go to a handful of addresses (relays, broadcast): the last one converted is kept. */
export function ipv4ToNumber(address: string): number {
  if (address === lastAddress) return lastNumber;
  const n = parseIpv4(address);
  lastAddress = address;
  lastNumber = n;
  return n;
}

function parseIpv4(address: string): number {
  const parts = address.split('.');
  if (parts.length !== 4) throw new Error(`${address}: not an IPv4 address`);
  let n = 0;
  for (const p of parts) {
    const b = Number(p);
    if (!/^\d{1,3}$/.test(p) || b > 255) throw new Error(`${address}: not an IPv4 address`);
    n = n * 256 + b;
  }
  return n;
}

export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** A received batch as datagrams: views into the one Buffer of the batch, no copies. */
export function splitBatch(buf: Buffer, meta: Uint32Array): Datagram[] {
  const out: Datagram[] = [];
  for (let i = 0; i + META <= meta.length; i += META) {
    const off = meta[i]!, len = meta[i + 1]!;
    out.push({ msg: buf.subarray(off, off + len), address: numberToIpv4(meta[i + 2]!), port: meta[i + 3]! });
  }
  return out;
}

interface Pending extends Datagram { ip: number; done: (err?: Error) => void }

/** The datagrams of a queue packed for one send call: one buffer, one meta array. */
export function packBatch(queue: readonly (Datagram & { ip?: number })[]): { buf: Buffer; meta: Uint32Array } {
  let total = 0;
  for (const d of queue) total += d.msg.length;
  const buf = Buffer.allocUnsafe(total);
  const meta = new Uint32Array(queue.length * META);
  let off = 0;
  for (let i = 0, m = 0; i < queue.length; i++, m += META) {
    const d = queue[i]!;
    d.msg.copy(buf, off);
    meta[m] = off;
    meta[m + 1] = d.msg.length;
    meta[m + 2] = d.ip ?? ipv4ToNumber(d.address);
    meta[m + 3] = d.port;
    off += d.msg.length;
  }
  return { buf, meta };
}

export class SendError extends Error {
  constructor(readonly code: string, address: string, port: number) { super(`send ${code} ${address}:${port}`); }
}

type SendBatch = (buf: Buffer, meta: Uint32Array, errs: Int32Array, start: number) => number;

/**
 * Sends queued in one event-loop turn leave together at the next setImmediate. Each promise settles
 * with its own datagram's result: one unreachable address fails its send, not the batch. A full
 * socket buffer (the addon stops at EAGAIN) keeps the rest queued for a later turn.
 */
export class SendQueue {
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;

  constructor(private readonly sendBatch: SendBatch, private readonly retryMs = 1) {}

  get waiting(): number { return this.queue.length; }

  send(msg: Buffer, port: number, address: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('socket is closed'));
    return new Promise((resolve, reject) => {
      let ip: number;
      try { ip = ipv4ToNumber(address); } catch (err) { return reject(err as Error); }
      this.queue.push({ msg, port, address, ip, done: (err) => (err ? reject(err) : resolve()) });
      this.schedule(false);
    });
  }

  private schedule(later: boolean): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (later) setTimeout(() => this.flush(), this.retryMs);
    else setImmediate(() => this.flush());
  }

  /** Sends what is queued now; exposed for tests. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const { buf, meta } = packBatch(batch);
    const errs = new Int32Array(batch.length);
    let next: number;
    try {
      next = this.sendBatch(buf, meta, errs, 0);
    } catch (err) {
      for (const p of batch) p.done(err as Error);
      return;
    }
    for (let i = 0; i < next; i++) {
      const p = batch[i]!;
      const e = errs[i]!;
      p.done(e === 0 ? undefined : new SendError(ERRNO_NAMES.get(-e) ?? ERRNO_NAMES.get(e) ?? `errno ${e}`, p.address, p.port));
    }
    if (next < batch.length) {
      this.queue = batch.slice(next).concat(this.queue);
      this.schedule(true);
    }
  }

  close(): void {
    this.closed = true;
    this.flush();
    for (const p of this.queue) p.done(new Error('socket is closed'));
    this.queue = [];
  }
}

export interface BatchedSocket {
  readonly port: number;
  send(msg: Buffer, port: number, address: string): Promise<void>;
  close(): Promise<void>;
}

/** A UDP socket on 0.0.0.0:port bound to one interface (ifindex; 0 for none), owned by the addon. */
export function openBatchedSocket(addon: UdpBatchAddon, opts: { port: number; ifindex: number; rcvbuf: number },
  onBatch: (datagrams: Datagram[]) => void): BatchedSocket {
  // n < 0: a socket error; an unconnected socket has none worth acting on (they are per datagram).
  let handle: unknown = addon.open(opts.port, opts.ifindex, opts.rcvbuf, (buf, meta, n) => { if (n > 0) onBatch(splitBatch(buf, meta)); });
  const queue = new SendQueue((buf, meta, errs, start) => {
    if (handle === undefined) throw new Error('socket is closed');
    return addon.send(handle, buf, meta, errs, start);
  });
  return {
    port: addon.port(handle),
    send: (msg, port, address) => queue.send(msg, port, address),
    async close() {
      queue.close();
      if (handle !== undefined) addon.close(handle);
      handle = undefined;
    },
  };
}
