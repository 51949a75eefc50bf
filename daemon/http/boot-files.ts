// HTTP /boot/…: the files of the images directory a booting machine needs, and nothing else.
// Which paths those are is core/boot-exposure.ts (loaders, agent/, images/, installers/, files
// profiles name); the path rules — no "..", no dotfiles, no NUL, no symlink out of the root —
// are core/served-path.ts, the same as TFTP's. Everything else answers 404, as if absent.
// Files go out through static-files.ts (Range, If-Range, HEAD, ETag, sendfile); FILE.sha256
// is the digest of a served FILE, computed once per file version.
// Every request resolves its file afresh (the root's real path, the file's, its stat), so a link
// swapped in, a folder moved or an image rebuilt is seen by the next request; the lookups are
// direct system calls (microseconds on the page and dentry caches), not thread-pool round trips:
// six of those per kernel or initrd were ~2 s of a 2,000-machine storm's event loop (BENCHMARKS.md).
import type { NextFunction, Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs, realpathSync, statSync, type Stats } from 'node:fs';
import { join, relative } from 'node:path';
import type { BootContext } from './context.js';
import { fileSender } from './static-files.js';
import { DEFAULT_LOADERS } from '../core/boot-loaders.js';
import { exposureOf } from '../core/boot-exposure.js';
import { isInside, servedSegments } from '../core/served-path.js';

const DIGEST_SUFFIX = '.sha256';

export function bootFiles(ctx: BootContext): (req: Request, res: Response, next: NextFunction) => Promise<void> {
  const sendFile = fileSender(ctx.logger);

  return async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    let text: string;
    try { text = decodeURIComponent(req.path); } catch { return next(); }
    const verdict = servedSegments(text);
    if (!verdict.ok) {
      // Debug only: anyone on the network can send these, as often as they like.
      if (verdict.kind === 'refused') ctx.logger.debug({ path: text.slice(0, 200), from: req.ip }, `/boot refused: ${verdict.why}`);
      return next();
    }
    const loaded = ctx.inventory();
    const exposure = exposureOf(loaded.inventory, DEFAULT_LOADERS);
    const root = realPath(loaded.imagesDir);
    if (!root) return next();
    const segments = verdict.segments;
    const last = segments[segments.length - 1]!;

    if (last.endsWith(DIGEST_SUFFIX) && last.length > DIGEST_SUFFIX.length) {
      const target = [...segments.slice(0, -1), last.slice(0, -DIGEST_SUFFIX.length)];
      const file = exposure.serves(target) ? fileInside(root, target, ctx) : undefined;
      // No such file: a .sha256 file on disk (images/lab.raw.sha256) may still be served below.
      if (file) {
        res.type('text/plain').send(`${await digestOf(file.real)}  ${target[target.length - 1]}\n`);
        return;
      }
    }
    if (!exposure.serves(segments)) return next();
    const file = fileInside(root, segments, ctx);
    if (!file) return next();
    sendFile(req, res, next, root, relative(root, file.real), file.stat);
  };
}

const warnedLinks = new Set<string>();

/** realpath(3); undefined when the path is absent, a dangling link, a loop, or leads through a non-directory. */
function realPath(path: string): string | undefined {
  try {
    return realpathSync.native(path);
  } catch {
    return undefined;
  }
}

/** The real path and stat of a regular file at `segments` under `root` (a real path), unless it leads out. */
function fileInside(root: string, segments: readonly string[], ctx: BootContext): { real: string; stat: Stats } | undefined {
  const full = join(root, ...segments);
  const real = realPath(full);
  if (!real) return undefined;
  if (!isInside(root, real) || real === root) {
    // Once per link: an operator's link that leads out is worth a warning, a client repeating it is not.
    const key = `${full}\0${real}`;
    if (!warnedLinks.has(key) && warnedLinks.size < 1000) {
      warnedLinks.add(key);
      ctx.logger.warn({ path: segments.join('/'), real }, `/boot refused: resolves to ${real}, outside ${root} (TFTP refuses it too)`);
    }
    return undefined;
  }
  let stat: Stats | undefined;
  try { stat = statSync(real); } catch { return undefined; } // gone since, or unreadable
  return stat.isFile() ? { real, stat } : undefined;
}

/** Digests are cached by path, size and mtime: computed once per file version, streamed. */
const digests = new Map<string, { key: string; hex: Promise<string> }>();

async function digestOf(file: string): Promise<string> {
  const st = await fs.stat(file);
  const key = `${st.size}:${st.mtimeMs}`;
  let entry = digests.get(file);
  if (!entry || entry.key !== key) {
    const hex = new Promise<string>((done, fail) => {
      const h = createHash('sha256');
      createReadStream(file).on('data', (d) => h.update(d)).on('end', () => done(h.digest('hex'))).on('error', fail);
    });
    // A failed read is not kept: the next request tries again.
    hex.catch(() => { if (digests.get(file)?.hex === hex) digests.delete(file); });
    entry = { key, hex };
    digests.set(file, entry);
  }
  return entry.hex;
}
