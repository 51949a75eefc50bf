// File bytes straight from the page cache to a client's socket (sendfile(2), through the small
// addon in daemon/native/sendfile.c, built by `make build`). When the addon is missing — run
// from a checkout that was never built, or on a machine without a C compiler — the image server
// streams through user space instead, and the log says why once. RACKHAND_SENDFILE=0 turns it
// off (the same fallback), should a kernel or a middlebox ever disagree with it.
import { createRequire } from 'node:module';
import { closeSync, existsSync, fstatSync, openSync, type Stats } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../version.js';
import { SERVED_OPEN_FLAGS } from '../core/served-path.js';

interface Addon {
  send(socketFd: number, fileFd: number, offset: number, count: number, cb: (err: string | null, sent: number) => void): number;
  cancel(id: number): boolean;
}

export const ADDON_PATH = join(PACKAGE_ROOT, 'build', 'native', 'sendfile.node');

function load(): { addon?: Addon; why?: string } {
  if (process.platform !== 'linux') return { why: 'sendfile(2) is used on Linux only' };
  if (process.env.RACKHAND_SENDFILE === '0') return { why: 'RACKHAND_SENDFILE=0 turned it off' };
  if (!existsSync(ADDON_PATH)) return { why: `${ADDON_PATH} is not built (make build)` };
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as Addon };
  } catch (err) {
    return { why: `${ADDON_PATH}: ${(err as Error).message}` };
  }
}

const loaded = load();
/** Why zero-copy is off, for the log; undefined when it is on. */
export const zeroCopyUnavailable = loaded.why;

export class ZeroCopyError extends Error {
  constructor(readonly code: string, readonly sent: number) { super(`sendfile: ${code} after ${sent} bytes`); }
}

/** The kernel descriptor behind a plain TCP socket; undefined for TLS or anything else. */
export function socketFd(socket: Socket): number | undefined {
  if ((socket as Socket & { encrypted?: boolean }).encrypted) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

export interface Transfer {
  done: Promise<number>;
  cancel(): void;
}

/**
 * Sends `count` bytes of `path` from `offset` on `fd` (a socket whose pending writes have all
 * reached the kernel). Resolves with the bytes sent; rejects with a ZeroCopyError. `expected`:
 * the stat the response's headers were made from; a file replaced since (another inode) is not
 * sent under them (ECHANGED), nor is one cut shorter than the range.
 */
export function sendFileRange(fd: number, path: string, offset: number, count: number, expected?: Pick<Stats, 'dev' | 'ino'>): Transfer {
  const addon = loaded.addon;
  if (!addon) throw new Error(`zero-copy is unavailable: ${loaded.why}`);
  let id: number | undefined;
  const done = new Promise<number>((resolve, reject) => {
    // Opened, handed over and closed at once, without a thread-pool round trip: the addon works on
    // its own duplicate of both descriptors, so closing ours (or Node closing the socket) never
    // pulls one out from under it.
    const file = openSync(path, SERVED_OPEN_FLAGS);
    try {
      const now = fstatSync(file);
      if (expected && (now.dev !== expected.dev || now.ino !== expected.ino)) return reject(new ZeroCopyError('ECHANGED', 0));
      if (now.size < offset + count) return reject(new ZeroCopyError('ESHORT', 0));
      id = addon.send(fd, file, offset, count, (err, sent) => (err ? reject(new ZeroCopyError(err, sent)) : resolve(sent)));
    } finally {
      closeSync(file);
    }
  });
  return {
    done,
    cancel() {
      if (id !== undefined) addon.cancel(id);
    },
  };
}

export const zeroCopyAvailable = (): boolean => loaded.addon !== undefined;
