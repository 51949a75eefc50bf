// The sha256 an image must have on disk: inline in the profile, or read from a checksum file
// (a path under the images directory or an http(s) URL, `sha256sum` format) when the agent asks.
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

export class DigestError extends Error {
  readonly code = 'DIGEST_UNAVAILABLE';
}

export async function imageDigest(image: { sha256?: string; sha256_file?: string }, imagesDir: string): Promise<string> {
  if (image.sha256) return image.sha256;
  const source = image.sha256_file!;
  let text: string;
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source, { signal: AbortSignal.timeout(10_000) }).catch((err: Error) => {
      throw new DigestError(`cannot fetch ${source}: ${err.message}`);
    });
    if (!res.ok) throw new DigestError(`cannot fetch ${source}: HTTP ${res.status}`);
    text = await res.text();
  } else {
    const file = resolve(imagesDir, source);
    if (!file.startsWith(imagesDir + sep)) throw new DigestError(`${source} is outside the images directory`);
    text = await readFile(file, 'utf8').catch((err: Error) => { throw new DigestError(`cannot read ${file}: ${err.message}`); });
  }
  const hex = /^[0-9a-f]{64}\b/i.exec(text.trim())?.[0];
  if (!hex) throw new DigestError(`${source} does not start with a sha256 (64 hex digits)`);
  return hex.toLowerCase();
}
