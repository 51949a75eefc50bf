// Resolving a requested path inside a root directory, and the default handler that serves one.
//
// A leading "/" is taken as the root, not the host's root: PXE ROMs send the DHCP `file` field
// verbatim, and sites moving from tftpd-hpa -s (chroot) routinely write "/pxelinux.0" there;
// iPXE strips the slash itself. So "/etc/passwd" means <root>/etc/passwd, which is not found.
// Refused outright (access violation, code 2): any ".." segment (never normalised away, so a
// refusal is visible in the log), NUL bytes, bytes that are not UTF-8, and any file whose real
// path — read from the opened descriptor, so no symlink can be swapped in between — lies
// outside the root. Backslashes are ordinary filename bytes on Linux and cannot escape.

import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { ERROR_CODE } from './packet.js';
import { accessViolation, TftpRefusal, type TftpFile, type TftpHandler } from './files.js';

/** Splits a requested name into safe segments; throws TftpRefusal for anything unsafe. */
export function requestSegments(requested: string): string[] {
  if (requested.includes('\0')) throw accessViolation('access violation', 'path contains a NUL byte');
  // The codec hands us latin1 (one char per byte); filenames on disk are UTF-8.
  const bytes = Buffer.from(requested, 'latin1');
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw accessViolation('access violation', 'path is not UTF-8');
  const segments = text.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw accessViolation('access violation', `path ${JSON.stringify(text)} has a ".." segment`);
  if (segments.length === 0) throw new TftpRefusal(ERROR_CODE.fileNotFound, 'file not found', 'path names the root itself');
  return segments;
}

function isInside(root: string, real: string): boolean {
  return real === root || real.startsWith(root.endsWith('/') ? root : root + '/');
}

async function realPathOf(handle: fs.FileHandle, fallback: string): Promise<string> {
  try {
    return await fs.readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return fs.realpath(fallback); // no /proc: check the name instead of the descriptor
  }
}

/** Opens `requested` under `realRoot` (already a real path); undefined when it does not exist. */
export async function openInRoot(realRoot: string, requested: string): Promise<TftpFile | undefined> {
  const full = path.join(realRoot, ...requestSegments(requested));
  let handle: fs.FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise hang a libuv thread until a writer came.
    handle = await fs.open(full, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    if (code === 'EACCES' || code === 'EPERM') throw accessViolation('access violation', `open: ${code}`);
    throw err;
  }
  try {
    const real = await realPathOf(handle, full);
    if (!isInside(realRoot, real)) throw accessViolation('access violation', `resolves to ${real}, outside ${realRoot}`);
    const stat = await handle.stat();
    if (!stat.isFile()) throw new TftpRefusal(ERROR_CODE.fileNotFound, 'file not found', `${real} is not a regular file`);
    const size = stat.size;
    return {
      size,
      async read(buf, offset, length, position) {
        const { bytesRead } = await handle.read(buf, offset, length, position);
        return bytesRead;
      },
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The default handler: serves the files under `root` (resolved once, symlinks included). */
export function directoryHandler(root: string): TftpHandler {
  let realRoot: Promise<string> | undefined;
  return async (requested) => {
    // A failed lookup is not cached: the directory may appear later (boot-images/ being unpacked).
    realRoot ??= fs.realpath(root).catch((err: unknown) => { realRoot = undefined; throw err; });
    return openInRoot(await realRoot, requested);
  };
}
