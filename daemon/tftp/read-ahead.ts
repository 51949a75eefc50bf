// A transfer's file data in memory: a ring of blocks read ahead of the window, so that a window
// never waits for the disk when the file is in the page cache, and retransmissions (the window
// after the last ACK) are always still there.
//
// The ring holds `capacity` blocks, block b in slot (b − 1) mod capacity. It is filled a half at a
// time (at least a window, at least readAheadBytes), and the next half is read as soon as the
// blocks it overwrites are all acknowledged — while the current half is still being sent, so the
// read's trip through libuv's thread pool overlaps the network instead of stalling it. Files of at
// most two halves get a ring of their own size, read without wrapping. A file already in memory
// (TftpFile.contents: the small-file cache, generated files) is its own ring: nothing is read.
import type { TftpFile } from './files.js';

export class ReadAhead {
  readonly buf: Buffer;
  /** Blocks in the ring. */
  readonly capacity: number;
  private readonly half: number;
  /** Blocks 1 … available have been read (the last `capacity` of them are in the ring). */
  private available = 0;
  private reading = false;
  private stopped = false;

  constructor(
    private readonly file: TftpFile,
    private readonly blockSize: number,
    private readonly totalBlocks: number,
    windowSize: number,
    readAheadBytes: number,
    /** After each read: the window may go on. */
    private readonly onRead: () => void,
    private readonly onError: (detail: string) => void,
  ) {
    this.half = Math.max(windowSize, Math.floor(readAheadBytes / blockSize), 1);
    if (file.contents) {
      this.capacity = totalBlocks;
      this.buf = file.contents;
      this.available = totalBlocks;
      return;
    }
    this.capacity = Math.min(totalBlocks, 2 * this.half);
    this.buf = Buffer.allocUnsafe(this.capacity * blockSize);
  }

  /** Whether blocks first … last are all in the ring. */
  holds(first: number, last: number): boolean {
    return last <= this.available && first > this.available - this.capacity;
  }

  offsetOf(block: number): number {
    return ((block - 1) % this.capacity) * this.blockSize;
  }

  /** Blocks from `block` on (up to `last`) that lie one after the other in the ring. */
  runFrom(block: number, last: number): number {
    return Math.min(last - block + 1, this.capacity - ((block - 1) % this.capacity));
  }

  /** Bytes of block b: blockSize, but for the last block of the file (possibly 0). */
  lengthOf(block: number): number {
    return block === this.totalBlocks ? this.file.size - (block - 1) * this.blockSize : this.blockSize;
  }

  /** Reads the next half when the blocks it would overwrite are all acknowledged. */
  pump(acked: number): void {
    if (this.reading || this.stopped || this.available >= this.totalBlocks) return;
    const count = Math.min(this.half, this.totalBlocks - this.available);
    if (this.available + count - this.capacity > acked) return;
    this.reading = true;
    void this.read(this.available + 1, count);
  }

  stop(): void { this.stopped = true; }

  private async read(first: number, count: number): Promise<void> {
    const position = (first - 1) * this.blockSize;
    const want = Math.min(count * this.blockSize, this.file.size - position);
    const at = this.offsetOf(first);
    let got = 0;
    try {
      while (got < want) {
        const n = await this.file.read(this.buf, at + got, want - got, position + got);
        if (n === 0) break;
        got += n;
      }
    } catch (err) {
      this.reading = false;
      if (!this.stopped) this.onError(`read: ${(err as Error).message}`);
      return;
    }
    this.reading = false;
    if (this.stopped) return;
    if (got < want) { this.onError(`file shrank: read ${position + got} of ${this.file.size} bytes`); return; }
    this.available = first + count - 1;
    this.onRead();
  }
}
