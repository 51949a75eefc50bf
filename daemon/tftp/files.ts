// What the TFTP server serves: a handler maps a requested path to a readable file, or to
// nothing (not found). The daemon composes handlers, e.g. generated per-machine files first,
// then the boot-images/ directory (see root.ts), with firstOf().

import { ERROR_CODE } from './packet.js';

export interface TftpClient { address: string; port: number }

/** A file being served. The server reads it sequentially, re-reading a window after a loss. */
export interface TftpFile {
  /** Bytes, fixed for the transfer: it decides the tsize answer and the last block. */
  readonly size: number;
  /** The whole file, when it is already in memory (shared and read-only): served without reads. */
  readonly contents?: Buffer;
  /** Reads up to `length` bytes at `position` into buf[offset...]; fewer only at end of file. */
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Resolves a request. Returns undefined for "not found"; throws TftpRefusal to refuse with a
 * code (access violation); any other throw is answered with ERROR 0 and logged.
 */
export type TftpHandler = (path: string, client: TftpClient) => Promise<TftpFile | undefined>;

/** A request refused with a TFTP error code: the client gets `message`, the log gets `detail`. */
export class TftpRefusal extends Error {
  constructor(readonly code: number, message: string, readonly detail?: string) {
    super(message);
    this.name = 'TftpRefusal';
  }
}

export const accessViolation = (message: string, detail?: string): TftpRefusal =>
  new TftpRefusal(ERROR_CODE.accessViolation, message, detail);

/** Serves bytes already in memory (a rendered per-machine script, say). */
export function bufferFile(data: Buffer): TftpFile {
  return {
    size: data.length,
    contents: data,
    async read(buf, offset, length, position) {
      if (position >= data.length) return 0;
      return data.copy(buf, offset, position, Math.min(data.length, position + length));
    },
    async close() { /* nothing held */ },
  };
}

/** Tries each handler in order; the first that finds the file (or refuses it) wins. */
export function firstOf(...handlers: TftpHandler[]): TftpHandler {
  return async (path, client) => {
    for (const handler of handlers) {
      const file = await handler(path, client);
      if (file) return file;
    }
    return undefined;
  };
}

/**
 * RFC 1350 netascii (RFC 764 NVT): LF becomes CR LF and a bare CR becomes CR NUL. Only small
 * files (text configs) are converted, in memory, so that the size, and with it tsize and the
 * last block, are known up front; boot loaders and images always travel in octet mode.
 */
export async function netasciiFile(file: TftpFile, maxBytes: number): Promise<TftpFile> {
  try {
    if (file.size > maxBytes) {
      throw new TftpRefusal(ERROR_CODE.illegalOperation,
        `netascii mode is limited to ${maxBytes} bytes: use octet (binary) mode`, `file is ${file.size} bytes`);
    }
    const raw = Buffer.allocUnsafe(file.size);
    let got = 0;
    while (got < file.size) {
      const n = await file.read(raw, got, file.size - got, got);
      if (n === 0) break;
      got += n;
    }
    const out = Buffer.allocUnsafe(got * 2);
    let o = 0;
    for (let i = 0; i < got; i++) {
      const c = raw[i]!;
      if (c === 0x0a) { out[o++] = 0x0d; out[o++] = 0x0a; } else if (c === 0x0d) { out[o++] = 0x0d; out[o++] = 0x00; } else out[o++] = c;
    }
    return bufferFile(out.subarray(0, o));
  } finally {
    await file.close();
  }
}
