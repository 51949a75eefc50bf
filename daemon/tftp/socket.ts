// The server's UDP sockets sit behind this small interface so a test can swap in one that
// drops or delays packets (lossySocketFactory), the way google/netboot's interop test does.

import dgram from 'node:dgram';

export interface Peer { address: string; port: number }

export interface TftpSocket {
  /** How datagrams travel: Node's dgram, or the batched addon (socket-batched.ts). */
  readonly transport?: 'dgram' | 'batched';
  bind(port: number, address: string): Promise<void>;
  /** Fixes the peer: sends need no address and the kernel drops datagrams from other ports. */
  connect(port: number, address: string): Promise<void>;
  /** Fire and forget: errors surface through onError, never as a throw. */
  send(data: Buffer | Buffer[], peer?: Peer): void;
  /**
   * Many datagrams in one call, to the connected peer: datagram i is record (prefixStart + i) mod
   * n of `prefixes` (prefixLen bytes each) followed by data[offset + i·stride, +stride), the last
   * one lastLen bytes. Returns how many the kernel took; fewer than count means its buffer was full
   * (the caller sends the rest later); other errors go to onError. Absent: one send() per datagram.
   */
  sendRun?(prefixes: Buffer, prefixStart: number, prefixLen: number, data: Buffer, offset: number, stride: number, count: number, lastLen: number): number;
  /**
   * `msg` may be a view that is only valid during the call (the batched transport reuses its
   * receive buffer): copy what must outlive it.
   */
  onMessage(fn: (msg: Buffer, from: Peer) => void): void;
  onError(fn: (err: Error) => void): void;
  localPort(): number;
  /** The node socket underneath, for options such as SO_BINDTODEVICE; absent in fakes. */
  readonly raw?: dgram.Socket;
  close(): void;
}

export type SocketPurpose = 'listen' | 'transfer';
export type SocketFactory = (purpose: SocketPurpose) => TftpSocket;

class UdpSocket implements TftpSocket {
  readonly transport = 'dgram';
  readonly raw: dgram.Socket;
  private errorHandler: (err: Error) => void = () => undefined;
  private closed = false;
  private readonly onSent = (err: Error | null): void => { if (err) this.errorHandler(err); };

  constructor(purpose: SocketPurpose) {
    // A boot storm arrives as a burst of requests on the listening socket: give it room.
    this.raw = dgram.createSocket({ type: 'udp4', ...(purpose === 'listen' ? { recvBufferSize: 1 << 20 } : {}) });
    this.raw.on('error', (err) => this.errorHandler(err));
  }

  bind(port: number, address: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => reject(err);
      this.raw.once('error', fail);
      this.raw.bind(port, address, () => { this.raw.off('error', fail); resolve(); });
    });
  }

  connect(port: number, address: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.raw.connect(port, address, (err?: Error) => (err ? reject(err) : resolve()));
    });
  }

  send(data: Buffer | Buffer[], peer?: Peer): void {
    if (this.closed) return;
    try {
      // Node tries a synchronous send first (uv_udp_try_send): no callback, no extra tick per block.
      if (peer) this.raw.send(data, peer.port, peer.address, this.onSent);
      else this.raw.send(data);
    } catch (err) {
      this.errorHandler(err as Error);
    }
  }

  onMessage(fn: (msg: Buffer, from: Peer) => void): void { this.raw.on('message', fn); }
  onError(fn: (err: Error) => void): void { this.errorHandler = fn; }
  localPort(): number { return this.raw.address().port; }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { this.raw.close(); } catch { /* already closed */ }
  }
}

export const udpSocketFactory: SocketFactory = (purpose) => new UdpSocket(purpose);

/**
 * Wraps a factory so that transfer sockets lose a fraction of the datagrams they send and
 * receive. `random` is injectable so a test can be made deterministic.
 */
export function lossySocketFactory(base: SocketFactory, lossRate: number, random: () => number = Math.random): SocketFactory {
  return (purpose) => {
    const inner = base(purpose);
    if (purpose !== 'transfer') return inner;
    return {
      bind: (port, address) => inner.bind(port, address),
      connect: (port, address) => inner.connect(port, address),
      send: (data, peer) => { if (random() >= lossRate) inner.send(data, peer); },
      onMessage: (fn) => inner.onMessage((msg, from) => { if (random() >= lossRate) fn(msg, from); }),
      onError: (fn) => inner.onError(fn),
      localPort: () => inner.localPort(),
      close: () => inner.close(),
    };
  };
}
