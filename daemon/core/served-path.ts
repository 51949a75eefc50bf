// The one rule for what a boot-time file server (TFTP, HTTP /boot) may open under its root.
//
// A leading "/" is taken as the root, not the host's root: PXE ROMs send the DHCP `file` field
// verbatim, and sites moving from tftpd-hpa -s (chroot) routinely write "/pxelinux.0" there.
// Refused outright: any ".." segment (never normalised away, so a refusal is visible in the
// log), any other segment starting with "." (dotfiles and dot-directories: editor backups,
// .git, keys), NUL bytes, and — checked once the file is open — any file whose real path lies
// outside the root, so a symlink cannot lead out of it. Backslashes are ordinary filename bytes
// on Linux and cannot escape.
import { constants, promises as fs, readlinkSync, realpathSync } from 'node:fs';

/**
 * How a served file is opened: read-only; O_NONBLOCK so a FIFO put in the root cannot hang the
 * opener waiting for a writer; O_NOCTTY so a terminal device never becomes ours.
 */
export const SERVED_OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

export type SegmentsVerdict =
  | { ok: true; segments: string[] }
  /** refused: an attempt to leave the root or reach a hidden file; empty: the root itself. */
  | { ok: false; kind: 'refused' | 'empty'; why: string };

/** Splits a requested path (already decoded to text) into segments that are safe to join to a root. */
export function servedSegments(text: string): SegmentsVerdict {
  if (text.includes('\0')) return { ok: false, kind: 'refused', why: 'path contains a NUL byte' };
  const segments = text.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { ok: false, kind: 'refused', why: `path ${JSON.stringify(text)} has a ".." segment` };
  const hidden = segments.find((s) => s.startsWith('.'));
  if (hidden !== undefined) return { ok: false, kind: 'refused', why: `path ${JSON.stringify(text)} names a dotfile (${JSON.stringify(hidden)})` };
  if (segments.length === 0) return { ok: false, kind: 'empty', why: 'path names the root itself' };
  return { ok: true, segments };
}

/** Whether `real` (a real path) is `root` (a real path) or lies beneath it. */
export function isInside(root: string, real: string): boolean {
  return real === root || real.startsWith(root.endsWith('/') ? root : root + '/');
}

/** The real path of an open file, read from its descriptor so no symlink can be swapped in between. */
export async function realPathOfHandle(handle: fs.FileHandle, fallback: string): Promise<string> {
  try {
    return await fs.readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return fs.realpath(fallback); // no /proc: check the name instead of the descriptor
  }
}

/** realPathOfHandle for a bare descriptor, by direct system calls. */
export function realPathOfFd(fd: number, fallback: string): string {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return realpathSync.native(fallback);
  }
}
