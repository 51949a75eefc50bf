// The DHCP server's view of a socket: five methods, so a test can swap in a fake (or a lossy one).
// openInterfaceSocket() is the real thing: UDP on 0.0.0.0:PORT, receiving only what arrives on one
// interface (see socket-linux.ts for why and how). It is batched (recvmmsg/sendmmsg through
// daemon/udp-batch.ts) when the addon is built, else Node's dgram; RACKHAND_UDPBATCH=0 forces dgram.
import dgram from 'node:dgram';
import { loadUdpBatch, openBatchedSocket } from '../udp-batch.js';
import { bindToInterface, forceReceiveBuffer, interfaceIndex } from './socket-linux.js';

export interface Remote {
  address: string;
  port: number;
}

export type Transport = 'batched' | 'dgram';

export interface DhcpSocket {
  readonly port: number;
  /** How datagrams travel; absent on test doubles. */
  readonly transport?: Transport;
  onMessage(cb: (msg: Buffer, from: Remote) => void): void;
  send(msg: Buffer, port: number, address: string): Promise<void>;
  close(): Promise<void>;
}

export interface SocketOptions {
  interface: string;
  port: number;
  /**
   * Kernel receive buffer. 2 MiB (about 2,600 requests) rides out a garbage collection or a lease
   * commit; much more only queues requests that are stale by the time they are answered, so under
   * overload clients would see nothing but late replies.
   */
  recvBufferSize?: number;
}

const udpBatch = loadUdpBatch();
/** The transport openInterfaceSocket uses, and why not the batched one when it is not. */
export const dhcpTransport: { transport: Transport; why?: string } = udpBatch.addon ? { transport: 'batched' } : { transport: 'dgram', why: udpBatch.why! };

export async function openInterfaceSocket(opts: SocketOptions): Promise<DhcpSocket> {
  return udpBatch.addon ? openBatched(opts) : openDgram(opts);
}

function openBatched(opts: SocketOptions): DhcpSocket {
  // The addon binds the socket to the interface before bind(): nothing from elsewhere is queued.
  const ifindex = interfaceIndex(opts.interface);
  let handler: ((msg: Buffer, from: Remote) => void) | undefined;
  const sock = openBatchedSocket(udpBatch.addon!, { port: opts.port, ifindex, rcvbuf: opts.recvBufferSize ?? 2 << 20 }, (batch) => {
    if (!handler) return;
    for (const d of batch) handler(d.msg, { address: d.address, port: d.port });
  });
  return {
    port: opts.port,
    transport: 'batched',
    onMessage(cb) { handler = cb; },
    send: (msg, port, address) => sock.send(msg, port, address),
    close: () => sock.close(),
  };
}

async function openDgram(opts: SocketOptions): Promise<DhcpSocket> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  let ready = false;
  let handler: ((msg: Buffer, from: Remote) => void) | undefined;
  sock.on('message', (msg, rinfo) => {
    // Datagrams queued in the instant between bind() and the interface binding may come from any
    // interface: the first turn of the loop is discarded rather than trusted.
    if (ready && handler) handler(msg, { address: rinfo.address, port: rinfo.port });
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ port: opts.port, address: '0.0.0.0' }, () => { sock.off('error', reject); resolve(); });
  });
  try {
    bindToInterface(sock, opts.interface);
  } catch (err) {
    sock.close();
    throw err;
  }
  sock.setBroadcast(true);
  const rcvbuf = opts.recvBufferSize ?? 2 << 20;
  if (!forceReceiveBuffer(sock, rcvbuf)) sock.setRecvBufferSize(rcvbuf);
  await new Promise((r) => setImmediate(r));
  ready = true;
  sock.on('error', () => { /* send errors are reported through send(); a socket error must not crash */ });
  return {
    port: opts.port,
    transport: 'dgram',
    onMessage(cb) { handler = cb; },
    send(msg, port, address) {
      return new Promise((resolve, reject) => sock.send(msg, port, address, (err) => (err ? reject(err) : resolve())));
    },
    close() { return new Promise((resolve) => sock.close(() => resolve())); },
  };
}
