// Option negotiation for a read request: RFC 2347 (framework), RFC 2348 (blksize), RFC 2349
// (timeout, tsize) and RFC 7440 (windowsize). Pure: request options and limits in, the values
// to use and the OACK to send out. Unknown options are ignored and left out of the OACK
// (RFC 2347 §2: they "must not cause an ERROR packet").

import type { TftpOption } from './packet.js';

export const BLKSIZE_MIN = 8; // RFC 2348 §2
export const BLKSIZE_MAX = 65464; // RFC 2348 §2
export const TIMEOUT_MIN = 1; // RFC 2349 §2 (seconds)
export const TIMEOUT_MAX = 255;
export const WINDOWSIZE_MIN = 1; // RFC 7440 §3
export const WINDOWSIZE_MAX = 65535;
/** RFC 1350 block size, used when the client asks for none. */
export const DEFAULT_BLKSIZE = 512;

export interface NegotiationLimits {
  /** Largest block the server will send (already capped to the interface MTU). */
  maxBlockSize: number;
  /** Largest window the server will send before waiting for an ACK. */
  maxWindowSize: number;
  /** Upper bound on blockSize × windowSize, so one transfer's buffer stays bounded. */
  maxWindowBytes: number;
}

export interface Negotiated {
  blockSize: number;
  windowSize: number;
  /** Seconds, when the client asked for a retransmission timeout. */
  timeoutSec?: number;
  /** Options to send in the OACK, in the client's order and spelling; empty = no OACK. */
  oack: TftpOption[];
}

/** A value the server refuses: answered with ERROR 8 (RFC 2347 §2). */
export class TftpOptionError extends Error {
  constructor(readonly option: string, readonly value: string, detail: string) {
    super(`option ${option}=${JSON.stringify(value)}: ${detail}`);
    this.name = 'TftpOptionError';
  }
}

/** Decimal digits only: "+5", " 5", "5e3" and "0x10" are not numbers in any TFTP RFC. */
function decimal(option: TftpOption, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^[0-9]{1,16}$/.test(option.value)) throw new TftpOptionError(option.name, option.value, 'not a decimal number');
  const n = Number(option.value);
  if (n > max) throw new TftpOptionError(option.name, option.value, `above ${max}`);
  return n;
}

/**
 * Negotiates a read request's options against the server's limits and the file's size.
 * Values below an RFC minimum, out-of-range timeouts and non-numbers throw TftpOptionError;
 * blksize and windowsize above what the server allows are answered with the smaller value,
 * as RFC 2348 §2 and RFC 7440 §3 let a server do.
 */
export function negotiate(options: TftpOption[], limits: NegotiationLimits, fileSize: number): Negotiated {
  let blockSize = DEFAULT_BLKSIZE;
  let windowSize = 1;
  let timeoutSec: number | undefined;
  const answers = new Map<string, TftpOption>();
  for (const option of options) {
    switch (option.name.toLowerCase()) {
      case 'blksize': {
        const n = decimal(option);
        if (n < BLKSIZE_MIN) throw new TftpOptionError(option.name, option.value, `below ${BLKSIZE_MIN} (RFC 2348)`);
        blockSize = Math.min(n, BLKSIZE_MAX, limits.maxBlockSize);
        answers.set('blksize', { name: option.name, value: String(blockSize) });
        break;
      }
      case 'tsize':
        // RFC 2349 §2: a reader sends 0 and the server answers with the file's size.
        decimal(option);
        answers.set('tsize', { name: option.name, value: String(fileSize) });
        break;
      case 'timeout': {
        // RFC 2349 §2: 1..255 seconds, and the server echoes the value unchanged or not at all.
        const n = decimal(option);
        if (n < TIMEOUT_MIN || n > TIMEOUT_MAX) {
          throw new TftpOptionError(option.name, option.value, `outside ${TIMEOUT_MIN}..${TIMEOUT_MAX} (RFC 2349)`);
        }
        timeoutSec = n;
        answers.set('timeout', { name: option.name, value: option.value });
        break;
      }
      case 'windowsize': {
        const n = decimal(option);
        if (n < WINDOWSIZE_MIN) throw new TftpOptionError(option.name, option.value, `below ${WINDOWSIZE_MIN} (RFC 7440)`);
        windowSize = Math.min(n, WINDOWSIZE_MAX, limits.maxWindowSize);
        answers.set('windowsize', { name: option.name, value: String(windowSize) });
        break;
      }
      default:
        break; // RFC 2347 §2: unknown options are left out of the OACK.
    }
  }
  // Bound the bytes in flight per transfer: shrink the window, never the block (the client
  // may need the block size to fit its buffers; a smaller window only costs speed).
  const maxWindow = Math.max(1, Math.floor(limits.maxWindowBytes / blockSize));
  if (windowSize > maxWindow) {
    windowSize = maxWindow;
    const w = answers.get('windowsize');
    if (w) w.value = String(windowSize);
  }
  const oack = options.map((o) => answers.get(o.name.toLowerCase())).filter((o): o is TftpOption => o !== undefined);
  return { blockSize, windowSize, ...(timeoutSec === undefined ? {} : { timeoutSec }), oack };
}
