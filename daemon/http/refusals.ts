// Refused boot-time requests, recorded without letting a flood grow the event table: one event
// per source address per minute, with a count. A source's first refusal is written at once (an
// operator sees it without delay) and opens a one-minute window; refusals inside the window are
// only counted, and when it closes one event carries their count and the window stays open while
// refusals keep coming. Memory is bounded too: past `maxSources` windows, further sources share one.
import type { NewEvent } from '../core/store/types.js';

export interface Refusal {
  /** The machine the request concerned, when Rackhand could tell. */
  machine: string | null;
  /** Why it was refused, in Rackhand's words (never the token or nonce itself). */
  why: string;
  /** The route template and method (never the raw path: it may carry a token). */
  route: string;
}

interface Window {
  openedAt: number;
  /** Refusals since the last event written for this source. */
  count: number;
  last: Refusal;
}

export const OTHER_SOURCES = 'other';

export class RefusalLog {
  private readonly windows = new Map<string, Window>();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly windowMs: number;
  private readonly maxSources: number;
  private readonly now: () => number;
  /** Refusals seen since start (for tests and metrics), events written for them. */
  refused = 0;
  written = 0;

  constructor(private readonly write: (ev: NewEvent) => Promise<unknown>,
    opts: { windowMs?: number; maxSources?: number; now?: () => number; timer?: boolean } = {}) {
    this.windowMs = opts.windowMs ?? 60_000;
    this.maxSources = opts.maxSources ?? 1024;
    this.now = opts.now ?? Date.now;
    if (opts.timer ?? true) {
      this.timer = setInterval(() => this.tick(), Math.max(1000, this.windowMs / 6));
      this.timer.unref();
    }
  }

  refuse(source: string, r: Refusal): void {
    this.refused++;
    const key = this.windows.has(source) || this.windows.size < this.maxSources ? source : OTHER_SOURCES;
    const w = this.windows.get(key);
    if (w) { w.count++; w.last = r; return; }
    this.windows.set(key, { openedAt: this.now(), count: 0, last: r });
    this.emit(key, 1, r, `refused ${r.route} from ${key}: ${r.why}`);
  }

  /** Closes the windows older than a minute: one event each for what they counted. */
  tick(): void {
    const t = this.now();
    for (const [source, w] of this.windows) {
      if (t - w.openedAt < this.windowMs) continue;
      if (w.count === 0) { this.windows.delete(source); continue; }
      this.emit(source, w.count, w.last, `${w.count} more requests refused from ${source} in the last minute (last: ${w.last.route}: ${w.last.why})`);
      w.count = 0;
      w.openedAt = t;
    }
  }

  /** Writes what the open windows counted and closes them (at shutdown, or for a test to read). */
  flush(): void {
    for (const [source, w] of this.windows) {
      if (w.count > 0) this.emit(source, w.count, w.last, `${w.count} more requests refused from ${source} (last: ${w.last.route}: ${w.last.why})`);
    }
    this.windows.clear();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.flush();
  }

  private emit(source: string, count: number, r: Refusal, cause: string): void {
    this.written++;
    this.write({ machine: r.machine, kind: 'auth', event: 'refused', cause, actor: `http:${source}`, data: { source, count } })
      .catch(() => undefined);
  }
}
