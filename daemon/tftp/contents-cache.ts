// Small files served over and over (the loader every machine of a boot storm asks for) kept in
// memory once, shared by every transfer of them: one read per file version instead of one per
// transfer, and one buffer instead of a read-ahead ring per transfer. A version is the file's
// identity and change marks (device, inode, size, mtime, ctime), taken from the descriptor the
// request opened — so the path checks are done per request as before, and a file replaced or
// rewritten in place is read again. Bounded in bytes; least recently used versions go first.
import type { Stats } from 'node:fs';

export const CACHED_FILE_MAX_BYTES = 1 << 20;
export const CACHE_MAX_BYTES = 16 << 20;

export class ContentsCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes = CACHE_MAX_BYTES, readonly maxFileBytes = CACHED_FILE_MAX_BYTES) {}

  static key(stat: Stats): string {
    return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
  }

  get(key: string): Buffer | undefined {
    const hit = this.entries.get(key);
    if (hit) { this.entries.delete(key); this.entries.set(key, hit); } // most recent last
    return hit;
  }

  put(key: string, data: Buffer): void {
    if (data.length > this.maxFileBytes || this.entries.has(key)) return;
    this.entries.set(key, data);
    this.bytes += data.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
  }

  get size(): number { return this.bytes; }
}
