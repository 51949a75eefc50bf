// Sending one file of the images directory over HTTP (/boot/…; boot-files.ts decides which).
// `send` (the library under express.static) does everything HTTP about it — the path inside the
// root, dotfiles refused, ETag and Last-Modified, conditional requests, Range and If-Range, HEAD,
// 416 — and this module replaces only how the body travels: sendfile(2) from the page cache to
// the socket (zero-copy.ts) where it can, the stream `send` would use otherwise; and, when the
// caller already holds the file's stat (boot-files.ts), send's own stat of it.
import type { NextFunction, Request, Response } from 'express';
import send from 'send';
import type { Stats } from 'node:fs';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import { sendFileRange, socketFd, zeroCopyAvailable, zeroCopyUnavailable } from './zero-copy.js';

const EMPTY = Buffer.alloc(0);

// send calls this.stream(path, {start, end}) once the headers are set; replacing it on the instance is
// the one seam needed.
// Likewise send calls this.sendFile(path) to stat the file, then this.send(path, stat) with it.
type SendStream = Omit<ReturnType<typeof send>, 'stream'> & {
  stream(path: string, options: { start: number; end: number }): void;
  sendFile(path: string): void;
  send(path: string, stat: Stats): void;
};

/**
 * Sends `path` (URL-style, already checked) under `root`; what is not a file there goes to next().
 * `stat`: the file's, just taken by the caller (headers, Range and the body's length follow it).
 */
export type FileSender = (req: Request, res: Response, next: NextFunction, root: string, path: string, stat?: Stats) => void;

export function fileSender(logger: Logger): FileSender {
  if (!zeroCopyAvailable()) logger.info(`images are streamed through user space: ${zeroCopyUnavailable}`);
  return (req, res, next, root, path, stat) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    // send decodes its path argument: hand it an encoded one, so a name with "%" in it stays that name.
    const file = send(req, path.split('/').map(encodeURIComponent).join('/'), {
      root, dotfiles: 'deny', index: false, acceptRanges: true, etag: true, lastModified: true,
      // For the user-space path: 1 MiB reads instead of 64 KiB (send passes this to createReadStream).
      highWaterMark: 1 << 20,
    } as send.SendOptions) as SendStream;
    // Like express.static with fallthrough: what is not a file here is another route's business.
    file.on('error', (err: { status?: number; statusCode?: number }) => ((err.statusCode ?? err.status ?? 500) < 500 ? next() : next(err)));
    file.on('directory', () => next());
    if (stat) {
      file.sendFile = (resolved) => {
        file.emit('file', resolved, stat);
        file.send(resolved, stat);
      };
    }
    if (zeroCopyAvailable()) {
      const streamThroughUserSpace = file.stream.bind(file);
      file.stream = (path, options) => {
        const socket = res.socket;
        // Only when this response owns a plain TCP socket (not queued behind a pipelined one).
        const fd = socket && (socket as Socket & { _httpMessage?: unknown })._httpMessage === res ? socketFd(socket) : undefined;
        if (fd === undefined) return streamThroughUserSpace(path, options);
        void zeroCopyBody(res, socket!, fd, path, options.start, Number(res.getHeader('content-length') ?? 0), logger, stat);
      };
    }
    file.pipe(res);
  };
}

/** Headers through Node, the body by sendfile, then the response ends as if written normally. */
async function zeroCopyBody(res: Response, socket: Socket, fd: number, path: string, offset: number, count: number, logger: Logger, stat: Stats | undefined): Promise<void> {
  try {
    res.flushHeaders();
    // Every byte Node queued (the headers) must be in the kernel before ours follow: a write's
    // callback runs once it and everything before it are written.
    await new Promise<void>((resolve, reject) => socket.write(EMPTY, (err) => (err ? reject(err) : resolve())));
    if (count > 0) {
      const transfer = sendFileRange(fd, path, offset, count, stat);
      const abandon = () => transfer.cancel();
      res.once('close', abandon);
      // Closed while the headers were leaving: no 'close' is coming any more.
      if (socket.destroyed) abandon();
      try {
        await transfer.done;
      } finally {
        res.off('close', abandon);
      }
    }
    res.end();
  } catch (err) {
    // The client went away or the file could not be read: the connection cannot carry a
    // truncated body on, so it is closed.
    const code = (err as { code?: string }).code;
    if (code !== 'ECANCELED' && code !== 'EPIPE' && code !== 'ECONNRESET') logger.warn({ err, path }, 'image transfer failed');
    res.destroy();
  }
}
