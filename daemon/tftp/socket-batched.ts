// TFTP sockets on the batched UDP addon (daemon/native/udpbatch.c and udpconn.c), chosen by the
// same switch as DHCP's (RACKHAND_UDPBATCH=0 or a missing addon: Node's dgram, socket.ts).
//
// Why: a windowed transfer's cost was Node's fixed price per datagram — one send call and its
// bookkeeping per DATA block. Here a whole window leaves in one syscall (sendRun: sendmmsg, or one
// UDP GSO send of equal-size segments), and ACKs are read with recvmmsg into a slab that JS sees
// through the same two views every time: no allocation per ACK. The protocol stays in transfer.ts.
import { constants } from 'node:os';
import { errnoError, ipv4ToNumber, loadUdpBatch, numberToIpv4, type UdpBatchAddon } from '../udp-batch.js';
import { udpSocketFactory, type Peer, type SocketFactory, type SocketPurpose, type TftpSocket } from './socket.js';

const META = 4;
/** A transfer socket receives ACKs (4 bytes) and at most an ERROR: small slots, a small batch. */
const TRANSFER_BATCH = 8;
const TRANSFER_SLOT = 1024;
/** The listener gets RRQs (options make them longer than 512 bytes) in a boot storm's bursts. */
const LISTEN_BATCH = 64;
const LISTEN_SLOT = 4096;
const LISTEN_RCVBUF = 1 << 20;

class BatchedSocket implements TftpSocket {
  readonly transport = 'batched';
  private handle: unknown;
  private peer: Peer | undefined;
  private closed = false;
  private messageHandler: ((msg: Buffer, from: Peer) => void) | undefined;
  private errorHandler: (err: Error) => void = () => undefined;
  private readonly one = { meta: new Uint32Array(META), errs: new Int32Array(1) };

  constructor(private readonly addon: UdpBatchAddon, private readonly purpose: SocketPurpose) {}

  async bind(port: number, address: string): Promise<void> {
    const transfer = this.purpose === 'transfer';
    // Transfer sockets see views of one slab (shared): their handler reads an ACK and forgets it.
    this.handle = this.addon.open(port, 0, transfer ? 0 : LISTEN_RCVBUF, (buf, meta, n) => this.onBatch(buf, meta, n),
      ipv4ToNumber(address), transfer, transfer ? TRANSFER_BATCH : LISTEN_BATCH, transfer ? TRANSFER_SLOT : LISTEN_SLOT);
  }

  async connect(port: number, address: string): Promise<void> {
    this.addon.connect(this.live(), ipv4ToNumber(address), port);
    this.peer = { address, port };
  }

  private live(): unknown {
    if (this.handle === undefined || this.closed) throw new Error('socket is not open');
    return this.handle;
  }

  private onBatch(buf: Buffer, meta: Uint32Array, n: number): void {
    if (this.closed) return;
    if (n < 0) { this.errorHandler(errnoError(-n, 'recv')); return; }
    const handler = this.messageHandler;
    if (!handler) return;
    for (let i = 0, m = 0; i < n && !this.closed; i++, m += META) {
      const msg = buf.subarray(meta[m]!, meta[m]! + meta[m + 1]!);
      handler(msg, this.peer ?? { address: numberToIpv4(meta[m + 2]!), port: meta[m + 3]! });
    }
  }

  send(data: Buffer | Buffer[], peer?: Peer): void {
    if (this.closed || this.handle === undefined) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : data;
    try {
      if (!peer) {
        const r = this.addon.write(this.handle, buf);
        if (r < 0) this.errorHandler(errnoError(-r, 'send'));
        return;
      }
      const { meta, errs } = this.one;
      meta[0] = 0; meta[1] = buf.length; meta[2] = ipv4ToNumber(peer.address); meta[3] = peer.port;
      const next = this.addon.send(this.handle, buf, meta, errs, 0);
      if (next === 0) this.errorHandler(errnoError(constants.errno.EAGAIN, 'send'));
      else if (errs[0] !== 0) this.errorHandler(errnoError(errs[0]!, 'send'));
    } catch (err) {
      this.errorHandler(err as Error);
    }
  }

  sendRun(prefixes: Buffer, prefixStart: number, prefixLen: number, data: Buffer, offset: number, stride: number, count: number, lastLen: number): number {
    if (this.closed || this.handle === undefined) return 0;
    const r = this.addon.sendRun(this.handle, prefixes, prefixStart, prefixLen, data, offset, stride, count, lastLen);
    if (r >= 0) return r;
    // A full socket buffer is a short send, not an error: the caller sends the rest later.
    if (-r !== constants.errno.EAGAIN && -r !== constants.errno.ENOBUFS) this.errorHandler(errnoError(-r, 'send'));
    return 0;
  }

  onMessage(fn: (msg: Buffer, from: Peer) => void): void { this.messageHandler = fn; }
  onError(fn: (err: Error) => void): void { this.errorHandler = fn; }
  localPort(): number { return this.addon.port(this.live()); }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.handle !== undefined) this.addon.close(this.handle);
  }
}

export function batchedSocketFactory(addon: UdpBatchAddon): SocketFactory {
  return (purpose) => new BatchedSocket(addon, purpose);
}

/** The sockets the server uses unless told otherwise: batched when the addon loads, else dgram (and why). */
export function defaultSocketFactory(env: NodeJS.ProcessEnv = process.env, path?: string): { factory: SocketFactory; transport: 'batched' | 'dgram'; why?: string } {
  const { addon, why } = loadUdpBatch(env, path);
  return addon ? { factory: batchedSocketFactory(addon), transport: 'batched' } : { factory: udpSocketFactory, transport: 'dgram', why: why! };
}
