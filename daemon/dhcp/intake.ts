// The queue between the sockets and the pipeline. Under overload a server that answers in arrival
// order spends itself on DISCOVERs whose clients are still waiting for the REQUEST it has not
// reached, and completes almost nothing. So datagrams are taken off the socket as they come, and
// each turn of the event loop processes a bounded batch: REQUEST, DECLINE, RELEASE and INFORM
// (exchanges under way) first, then DISCOVERs, oldest first; DISCOVERs beyond `maxDiscovers`
// waiting, or older than `maxAgeMs`, are dropped and counted (a client retransmits after about
// 4 s, RFC 2131 §4.1). Without overload every datagram is handled in the turn it arrived.
import { MessageType } from './options.js';
import { HEADER_SIZE } from './packet.js';
import type { Remote } from './socket.js';

export interface Datagram {
  msg: Buffer;
  port: number;
  from: Remote;
  at: number;
}

/** Option 53 of a datagram without decoding it; undefined if it cannot be found. */
export function peekMessageType(msg: Buffer): number | undefined {
  let i = HEADER_SIZE;
  while (i + 1 < msg.length) {
    const code = msg[i]!;
    if (code === 0) { i++; continue; }
    if (code === 255) return undefined;
    const len = msg[i + 1]!;
    if (code === 53) return len === 1 && i + 2 < msg.length ? msg[i + 2] : undefined;
    i += 2 + len;
  }
  return undefined;
}

export class Intake {
  private urgent: Datagram[] = [];
  private discovers: Datagram[] = [];
  private head = 0;
  private scheduled = false;

  constructor(
    private readonly process: (d: Datagram) => void,
    private readonly shed: (d: Datagram, why: string) => void,
    private readonly opts = { batch: 24, maxDiscovers: 4096, maxAgeMs: 2000 },
  ) {}

  get waiting(): number { return this.urgent.length + this.discovers.length - this.head; }

  push(d: Datagram): void {
    const type = peekMessageType(d.msg);
    // Malformed datagrams queue with DISCOVERs: garbage must not delay exchanges under way.
    if (type !== undefined && type !== MessageType.DISCOVER) this.urgent.push(d);
    else {
      this.discovers.push(d);
      if (this.discovers.length - this.head > this.opts.maxDiscovers) this.shed(this.discovers[this.head++]!, 'queue full');
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.pump());
    }
  }

  private pump(): void {
    const now = Date.now();
    let n = 0;
    while (n < this.opts.batch) {
      const d = this.urgent.shift() ?? this.discovers[this.head++];
      if (!d) break;
      if (now - d.at > this.opts.maxAgeMs) { this.shed(d, `waited ${now - d.at} ms`); continue; }
      this.process(d);
      n++;
    }
    if (this.head > 1024 && this.head * 2 > this.discovers.length) {
      this.discovers = this.discovers.slice(this.head);
      this.head = 0;
    }
    if (this.waiting > 0) setImmediate(() => this.pump());
    else { this.scheduled = false; this.discovers.length = 0; this.head = 0; }
  }
}
