// Resolving a requested path inside a root directory, and the default handler that serves one.
// The rules (leading "/" is the root; "..", dotfiles, NUL bytes and symlinks out of the root are
// refused) are core/served-path.ts, shared with HTTP /boot; this module adds TFTP's own: the
// name arrives as latin1 bytes and must be UTF-8, and a refusal is an access violation (code 2).

import { closeSync, fstatSync, openSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { ERROR_CODE } from './packet.js';
import { accessViolation, bufferFile, TftpRefusal, type TftpFile, type TftpHandler } from './files.js';
import { ContentsCache } from './contents-cache.js';
import { isInside, realPathOfFd, realPathOfHandle, SERVED_OPEN_FLAGS, servedSegments } from '../core/served-path.js';

/** Splits a requested name into safe segments; throws TftpRefusal for anything unsafe. */
export function requestSegments(requested: string): string[] {
  // The codec hands us latin1 (one char per byte); filenames on disk are UTF-8.
  const bytes = Buffer.from(requested, 'latin1');
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw accessViolation('access violation', 'path is not UTF-8');
  const verdict = servedSegments(text);
  if (verdict.ok) return verdict.segments;
  if (verdict.kind === 'empty') throw new TftpRefusal(ERROR_CODE.fileNotFound, 'file not found', verdict.why);
  throw accessViolation('access violation', verdict.why);
}

/**
 * Opens `requested` under `realRoot` (already a real path); undefined when it does not exist. With
 * a cache, a small file comes back in memory (the descriptor already closed), read once per version.
 */
export async function openInRoot(realRoot: string, requested: string, cache?: ContentsCache): Promise<TftpFile | undefined> {
  const full = path.join(realRoot, ...requestSegments(requested));
  const cached = cache && cachedInRoot(realRoot, full, cache);
  if (cached) return bufferFile(cached);
  let handle: fs.FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise hang a libuv thread until a writer came.
    handle = await fs.open(full, SERVED_OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    if (code === 'EACCES' || code === 'EPERM') throw accessViolation('access violation', `open: ${code}`);
    throw err;
  }
  let open = true;
  const closeHandle = async () => { if (open) { open = false; await handle.close(); } };
  try {
    const real = await realPathOfHandle(handle, full);
    if (!isInside(realRoot, real)) throw accessViolation('access violation', `resolves to ${real}, outside ${realRoot}`);
    const stat = await handle.stat();
    if (!stat.isFile()) throw new TftpRefusal(ERROR_CODE.fileNotFound, 'file not found', `${real} is not a regular file`);
    const size = stat.size;
    if (cache && size <= cache.maxFileBytes) {
      const key = ContentsCache.key(stat);
      let data = cache.get(key);
      if (!data) {
        data = Buffer.allocUnsafe(size);
        let got = 0;
        while (got < size) {
          const { bytesRead } = await handle.read(data, got, size - got, got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        data = data.subarray(0, got);
        cache.put(key, data);
      }
      await closeHandle();
      return bufferFile(data);
    }
    return {
      size,
      async read(buf, offset, length, position) {
        const { bytesRead } = await handle.read(buf, offset, length, position);
        return bytesRead;
      },
      close: () => handle.close(),
    };
  } catch (err) {
    // Once: a close that itself failed above is not tried again.
    await closeHandle().catch(() => undefined);
    throw err;
  }
}

/**
 * A file already in `cache`, checked as openInRoot checks it (opened, its real path inside the
 * root, a regular file, this version), by direct system calls: a boot storm asks for the same
 * loader thousands of times, and four thread-pool round trips each cost more than the transfer's
 * first blocks. Undefined when it is anything else (absent, refused, not cached): openInRoot then
 * opens it again and says why.
 */
function cachedInRoot(realRoot: string, full: string, cache: ContentsCache): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(full, SERVED_OPEN_FLAGS);
  } catch {
    return undefined;
  }
  try {
    if (!isInside(realRoot, realPathOfFd(fd, full))) return undefined;
    const stat = fstatSync(fd);
    return stat.isFile() && stat.size <= cache.maxFileBytes ? cache.get(ContentsCache.key(stat)) : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The default handler: serves the files under `root` (resolved once, symlinks included). */
export function directoryHandler(root: string, cache: ContentsCache | undefined = new ContentsCache()): TftpHandler {
  let realRoot: Promise<string> | undefined;
  return async (requested) => {
    // A failed lookup is not cached: the directory may appear later (boot-images/ being unpacked).
    realRoot ??= fs.realpath(root).catch((err: unknown) => { realRoot = undefined; throw err; });
    return openInRoot(await realRoot, requested, cache);
  };
}
