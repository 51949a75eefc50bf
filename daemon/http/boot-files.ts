// HTTP /boot/…: the files of the images directory a booting machine needs, and nothing else.
// Which paths those are is core/boot-exposure.ts (loaders, agent/, images/, installers/, files
// profiles name); the path rules — no "..", no dotfiles, no NUL, no symlink out of the root —
// are core/served-path.ts, the same as TFTP's. Everything else answers 404, as if absent.
// Files go out through static-files.ts (Range, If-Range, HEAD, ETag, sendfile); FILE.sha256
// is the digest of a served FILE, computed once per file version.
import type { NextFunction, Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
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
    const root = await fs.realpath(loaded.imagesDir).catch(() => undefined);
    if (!root) return next();
    const segments = verdict.segments;
    const last = segments[segments.length - 1]!;

    if (last.endsWith(DIGEST_SUFFIX) && last.length > DIGEST_SUFFIX.length) {
      const target = [...segments.slice(0, -1), last.slice(0, -DIGEST_SUFFIX.length)];
      const real = exposure.serves(target) ? await fileInside(root, target, ctx) : undefined;
      // No such file: a .sha256 file on disk (images/lab.raw.sha256) may still be served below.
      if (real) {
        res.type('text/plain').send(`${await digestOf(real)}  ${target[target.length - 1]}\n`);
        return;
      }
    }
    if (!exposure.serves(segments)) return next();
    const real = await fileInside(root, segments, ctx);
    if (!real) return next();
    sendFile(req, res, next, root, relative(root, real));
  };
}

const warnedLinks = new Set<string>();

/** The real path of a regular file at `segments` under `root` (a real path), unless it leads out. */
async function fileInside(root: string, segments: readonly string[], ctx: BootContext): Promise<string | undefined> {
  const full = join(root, ...segments);
  let real: string;
  try {
    real = await fs.realpath(full);
  } catch {
    return undefined; // absent, a dangling link, a loop, a component that is not a directory
  }
  if (!isInside(root, real) || real === root) {
    // Once per link: an operator's link that leads out is worth a warning, a client repeating it is not.
    const key = `${full}\0${real}`;
    if (!warnedLinks.has(key) && warnedLinks.size < 1000) {
      warnedLinks.add(key);
      ctx.logger.warn({ path: segments.join('/'), real }, `/boot refused: resolves to ${real}, outside ${root} (TFTP refuses it too)`);
    }
    return undefined;
  }
  const stat = await fs.stat(real).catch(() => undefined);
  return stat?.isFile() ? real : undefined;
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
