// One read transfer on its own socket (RFC 1350 §4: a fresh TID per transfer), connected to
// the client. Sends windows of blocks (RFC 7440; a window of 1 is plain RFC 1350 lock-step)
// and moves on only when an ACK advances; retransmits on a timer with exponential backoff.
//
// Sorcerer's apprentice (RFC 1123 §4.2.3.1): a duplicate ACK never triggers a send. Only an
// ACK that advances past the last acknowledged block does; losses are repaired by our timer.
// An ACK inside the window (the client saw a gap) restarts the window after it (RFC 7440 §4).
//
// Block numbers are 16 bits on the wire and roll over from 65535 to 0, as tftp-hpa, curl,
// atftp, busybox and iPXE expect; internally blocks are counted without wrapping.
//
// File data is read ahead into a ring per transfer (read-ahead.ts), and each DATA packet is
// [shared 4-byte header, slice of that ring]: no allocation or copy per block. A socket that can
// (the batched transport) takes a whole window in one call (sendRun); a window the kernel takes
// only part of (socket buffer full) is a counted short send, its rest sent a moment later.

import { ERROR_CODE, errorPacket, OPCODE, decode, TftpDecodeError } from './packet.js';
import type { TftpFile } from './files.js';
import type { TftpSocket } from './socket.js';
import { ReadAhead } from './read-ahead.js';

/** DATA headers for every wire block number, built once and never written again. */
const HEADERS: Buffer = (() => {
  const all = Buffer.alloc(65536 * 4);
  for (let b = 0; b < 65536; b++) { all.writeUInt16BE(OPCODE.DATA, b * 4); all.writeUInt16BE(b, b * 4 + 2); }
  return all;
})();
const header = (block: number): Buffer => HEADERS.subarray((block & 0xffff) * 4, (block & 0xffff) * 4 + 4);

export interface RetransmitTiming {
  initialMs: number;
  minMs: number;
  maxMs: number;
  maxRetries: number;
}

export interface TransferParams {
  socket: TftpSocket;
  file: TftpFile;
  blockSize: number;
  windowSize: number;
  /** The OACK to send first, waiting for ACK 0; undefined starts with DATA 1 (RFC 2347 §2). */
  oack: Buffer | undefined;
  timing: RetransmitTiming;
  readAheadBytes: number;
  onDrop(reason: string): void;
}

export type TransferResult = 'ok' | 'timeout' | 'client_error' | 'client_gone' | 'read_error' | 'aborted';

export interface TransferOutcome {
  result: TransferResult;
  detail?: string;
  /** DATA payload bytes put on the wire, retransmissions included. */
  bytesSent: number;
  /** Highest block acknowledged, and the number of DATA/OACK packets sent again. */
  blocksAcked: number;
  retransmissions: number;
  /** Windows the kernel took only part of at first. */
  shortSends: number;
  rtoMs: number;
}

export interface Transfer {
  readonly done: Promise<TransferOutcome>;
  /** Ends the transfer now, telling the client why with ERROR 0. */
  abort(reason: string): void;
  /**
   * The client sent its read request again. While it has acknowledged nothing, that says our first
   * answer (the OACK, or block 1) did not reach it: that answer goes again now, at most once per
   * minimum timeout, instead of at the next backed-off retransmission (1, 2, 4 s later), by which
   * time firmware retrying every second may have given up.
   */
  repeatRequested(): void;
}

export function startTransfer(p: TransferParams): Transfer {
  const { socket, file, blockSize, windowSize, timing } = p;
  const totalBlocks = Math.floor(file.size / blockSize) + 1; // the last block is short, maybe empty
  const ring = new ReadAhead(file, blockSize, totalBlocks, windowSize, p.readAheadBytes, () => {
    if (waitingData) { waitingData = false; sendWindow(false); }
    ring.pump(acked);
  }, (detail) => fail(detail));
  let waitingData = false; // a window waits for the ring
  let shortSends = 0;
  let resumeTimer: NodeJS.Timeout | undefined;

  let waitingOack = p.oack !== undefined;
  let acked = 0; // highest block acknowledged
  let sentUpTo = 0; // last block of the window on the wire
  let retransmitted = false; // Karn: no RTT sample from a window sent twice
  let repeatedAt = 0; // when a repeated request last had the first answer sent again
  let retries = 0;
  let bytesSent = 0;
  let retransmissions = 0;

  // RFC 6298 estimator. baseRto comes from measured round trips (the configured initial
  // timeout until the first one); rto is baseRto backed off for the block or window now
  // outstanding, and falls back to baseRto as soon as an ACK makes progress.
  let srtt = 0;
  let rttvar = 0;
  let baseRto = Math.min(timing.initialMs, timing.maxMs);
  let rto = baseRto;
  let sentAt = 0;
  let deadline = 0;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = 0;

  let finished = false;
  let resolveDone!: (o: TransferOutcome) => void;
  const done = new Promise<TransferOutcome>((resolve) => { resolveDone = resolve; });

  function finish(result: TransferResult, detail?: string): void {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    if (resumeTimer) clearTimeout(resumeTimer);
    ring.stop();
    socket.close();
    const outcome: TransferOutcome = {
      result, bytesSent, blocksAcked: acked, retransmissions, shortSends, rtoMs: Math.round(rto), ...(detail ? { detail } : {}),
    };
    file.close().catch(() => undefined).finally(() => resolveDone(outcome));
  }

  function arm(): void {
    const now = performance.now();
    deadline = now + rto;
    // One timer per transfer, re-armed lazily: progress only moves the deadline later, and
    // the timer, when it fires early, sleeps again for the rest. Only a deadline earlier than
    // the pending timer (rto back to its base after a backoff) needs a new timer.
    if (timer && timerAt <= deadline + 1) return;
    if (timer) clearTimeout(timer);
    timerAt = deadline;
    timer = setTimeout(onTimer, rto);
  }

  function onTimer(): void {
    timer = undefined;
    if (finished) return;
    const left = deadline - performance.now();
    if (left > 1) { timerAt = deadline; timer = setTimeout(onTimer, left); return; }
    if (++retries > timing.maxRetries) {
      finish('timeout', `no ACK after ${timing.maxRetries} retransmissions (block ${acked + 1}, rto ${Math.round(rto)} ms)`);
      return;
    }
    rto = Math.min(rto * 2, timing.maxMs);
    retransmitted = true;
    // sentAt moves with the resend (as sendWindow's does): a repeated request just after it is not answered again.
    if (waitingOack) { retransmissions++; sentAt = performance.now(); socket.send(p.oack!); arm(); return; }
    sendWindow(true);
  }

  function sample(rtt: number): void {
    if (srtt === 0) { srtt = rtt; rttvar = rtt / 2; } else {
      rttvar = 0.75 * rttvar + 0.25 * Math.abs(srtt - rtt);
      srtt = 0.875 * srtt + 0.125 * rtt;
    }
    baseRto = Math.min(timing.maxMs, Math.max(timing.minMs, srtt + 4 * rttvar));
  }

  function fail(detail: string): void {
    socket.send(errorPacket(ERROR_CODE.notDefined, 'read error'));
    finish('read_error', detail);
  }

  /** Sends blocks acked+1 … acked+windowSize, once the ring holds them. */
  function sendWindow(again: boolean): void {
    if (finished) return;
    const first = acked + 1;
    const last = Math.min(acked + windowSize, totalBlocks);
    if (!ring.holds(first, last)) { waitingData = true; ring.pump(acked); return; }
    const upTo = put(first, last);
    if (finished) return;
    if (again) retransmissions += last - first + 1;
    else { retransmitted = false; retries = 0; rto = baseRto; }
    sentUpTo = last;
    sentAt = performance.now();
    if (upTo < last) shortSent(upTo);
    arm();
  }

  /** Puts blocks first … last on the wire; returns the last one the socket took. */
  function put(first: number, last: number): number {
    let b = first;
    while (b <= last && !finished) {
      const count = ring.runFrom(b, last);
      const end = b + count - 1;
      const lastLen = ring.lengthOf(end);
      const start = ring.offsetOf(b);
      if (socket.sendRun) {
        const took = socket.sendRun(HEADERS, b & 0xffff, 4, ring.buf, start, blockSize, count, lastLen);
        bytesSent += took === count ? (count - 1) * blockSize + lastLen : took * blockSize;
        if (took < count) return b + took - 1;
      } else {
        for (let k = b; k <= end; k++) {
          const off = start + (k - b) * blockSize;
          const len = k === end ? lastLen : blockSize;
          socket.send([header(k), ring.buf.subarray(off, off + len)]);
          bytesSent += len;
        }
      }
      b = end + 1;
    }
    return last;
  }

  /** The socket buffer was full after block upTo: the rest of the window goes a moment later. */
  function shortSent(upTo: number): void {
    shortSends++;
    if (resumeTimer) return;
    let from = upTo + 1;
    resumeTimer = setTimeout(function resume() {
      resumeTimer = undefined;
      from = Math.max(from, acked + 1);
      if (finished || waitingOack || from > sentUpTo || !ring.holds(from, sentUpTo)) return;
      const took = put(from, sentUpTo);
      if (took < sentUpTo && !finished) { from = took + 1; resumeTimer = setTimeout(resume, 1); }
    }, 1);
  }

  function onAck(wire: number): void {
    if (waitingOack) {
      if (wire !== 0) { p.onDrop('unexpected_ack'); return; }
      waitingOack = false;
      if (!retransmitted) sample(performance.now() - sentAt);
      sendWindow(false);
      return;
    }
    // The ACK's place relative to the last acknowledged block, modulo 2^16 (rollover).
    const ahead = (wire - acked) & 0xffff;
    if (ahead === 0) return; // duplicate: never answered (sorcerer's apprentice)
    const block = acked + ahead;
    // Past the window: a late ACK of an older block (normal after a window restart), ignored.
    if (block > sentUpTo) return;
    if (!retransmitted) sample(performance.now() - sentAt);
    acked = block;
    if (acked === totalBlocks) { finish('ok'); return; }
    sendWindow(false);
    ring.pump(acked);
  }

  socket.onMessage((msg) => {
    if (finished) return;
    // Fast path: an ACK is exactly 4 bytes, 0x00 0x04 and the block.
    if (msg.length === 4 && msg[0] === 0 && msg[1] === OPCODE.ACK) { onAck(msg.readUInt16BE(2)); return; }
    try {
      const packet = decode(msg);
      if (packet.op === 'ERROR') { finish('client_error', `client sent ERROR ${packet.code}: ${packet.message}`); return; }
      p.onDrop('unexpected_opcode');
    } catch (err) {
      // A broken ERROR still means the client gave up.
      if (msg.length >= 2 && msg.readUInt16BE(0) === OPCODE.ERROR) { finish('client_error', 'client sent a malformed ERROR'); return; }
      p.onDrop(err instanceof TftpDecodeError ? err.code : 'undecodable');
    }
  });
  socket.onError((err) => {
    // ECONNREFUSED: ICMP port unreachable, the client has closed its socket.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') finish('client_gone', 'client port unreachable');
    else if (code !== 'EAGAIN' && code !== 'ENOBUFS') finish('client_gone', `socket: ${err.message}`);
  });

  ring.pump(0);
  if (p.oack) { sentAt = performance.now(); socket.send(p.oack); arm(); } else sendWindow(false);

  return {
    done,
    repeatRequested() {
      const now = performance.now();
      if (finished || acked > 0 || now - Math.max(sentAt, repeatedAt) < timing.minMs) return;
      repeatedAt = now;
      retransmitted = true;
      if (waitingOack) { retransmissions++; socket.send(p.oack!); return; }
      // No options: the first answer is the first window (one block: no windowsize was agreed).
      sendWindow(true);
    },
    abort(reason) {
      if (finished) return;
      socket.send(errorPacket(ERROR_CODE.notDefined, reason));
      finish('aborted', reason);
    },
  };
}
