// The event feed (the EventFeed port of core/store/ports.ts) as one daemon holds it: the newest
// event id known, the readers waiting for a newer one, and a periodic resync from the store.
// Stores feed it: SQLite when its own transactions commit events, PostgreSQL when a NOTIFY of any
// daemon's commit arrives. The resync reads the newest id from the store every few seconds and
// after a reconnect, because what is announced can be missed (a notification sent while the
// listening connection was down is never delivered; another process may write the SQLite file).
import type { EventFeed } from './store/ports.js';

export class EventSignal implements EventFeed {
  private top = 0;
  private closed = false;
  private readonly listeners = new Set<(newest: number) => void>();
  /** Ends each pending wait (false) when the feed closes. */
  private readonly closers = new Set<() => void>();

  newest(): number {
    return this.top;
  }

  /** A committed event's id (or the newest the store reports): wakes waiters when it is new. */
  advance(id: number): void {
    if (this.closed || !Number.isSafeInteger(id) || id <= this.top) return;
    this.top = id;
    for (const listener of [...this.listeners]) {
      // One listener's failure must not keep the others (or the store's commit path) from running.
      try { listener(id); } catch { /* the listener's own bug */ }
    }
  }

  subscribe(listener: (newest: number) => void): () => void {
    if (this.closed) return () => undefined;
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  waitFor(afterId: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.top > afterId) return Promise.resolve(true);
    if (this.closed || signal?.aborted || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (moved: boolean) => {
        unsubscribe();
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        this.closers.delete(closer);
        resolve(moved);
      };
      const unsubscribe = this.subscribe((newest) => { if (newest > afterId) done(true); });
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      const aborted = () => done(false);
      signal?.addEventListener('abort', aborted, { once: true });
      const closer = () => done(false);
      this.closers.add(closer);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    for (const close of [...this.closers]) close();
  }
}

export interface Resync {
  /** Reads the newest id now (overlapping calls share one read). */
  now(): Promise<void>;
  stop(): void;
}

/**
 * Reads the store's newest event id every `everyMs` (and whenever asked) into `feed`. A failed
 * read is skipped: whoever owns the connection reports outages, once, not this timer every tick.
 */
export function resyncEvery(feed: EventSignal, readNewest: () => Promise<number>, everyMs: number): Resync {
  let running: Promise<void> | undefined;
  const now = () => {
    running ??= readNewest()
      .then((id) => feed.advance(id), () => undefined)
      .finally(() => { running = undefined; });
    return running;
  };
  const timer = setInterval(() => { void now(); }, everyMs);
  timer.unref();
  return { now, stop: () => clearInterval(timer) };
}
