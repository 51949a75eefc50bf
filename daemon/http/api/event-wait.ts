// Long-polling the event log (`GET /api/v1/events?after=ID&wait=S`): when a read finds nothing,
// the request is held until the event feed says a newer event committed (on this daemon or, on a
// shared PostgreSQL, any other), then read again; at most `wait` seconds in all. Only the feed's
// newest id is trusted to wake a request: what it answers is always read from the store, so the
// filters and a tenant's scoping apply exactly as without `wait`.
//
// Held requests are bounded per daemon (each is a socket and a pending promise, and any token
// holder can open them): beyond the cap a request that would wait is refused at once (503 BUSY)
// and counted. A request whose client went away stops waiting at once.
import { Counter, Gauge, type Registry } from 'prom-client';
import { ApiError } from '../errors.js';
import type { EventFeed } from '../../core/store/types.js';

/** The longest `wait` a request may ask for, in seconds (under the CLI's 30 s request timeout). */
export const MAX_WAIT_S = 30;
export const DEFAULT_MAX_HELD = 1000;

export interface HeldRead {
  /** Events strictly after this id are what the reader is waiting for. */
  after: number;
  waitMs: number;
  /** Aborts when the client disconnects. */
  signal: AbortSignal;
}

export type EventWaiter = <T>(read: () => Promise<T[]>, hold: HeldRead) => Promise<T[]>;

export function eventWaiter(feed: EventFeed | undefined, maxHeld: number, registry: Registry): EventWaiter {
  let held = 0;
  const refused = new Counter({
    name: 'rackhand_event_waits_refused_total', help: 'Event reads refused (503) because the daemon held as many waiting ones as it allows',
    registers: [registry],
  });
  new Gauge({
    name: 'rackhand_event_waits', help: 'Event reads held now, waiting for a newer event', registers: [registry],
    collect() { this.set(held); },
  });

  return async function readOrWait<T>(read: () => Promise<T[]>, hold: HeldRead): Promise<T[]> {
    const deadline = Date.now() + hold.waitMs;
    let holding = false;
    try {
      for (;;) {
        // Taken before the read: an event committed after the read has a greater id (ids become
        // visible in order), so waiting for "newer than this" cannot miss it.
        const cursor = Math.max(hold.after, feed?.newest() ?? 0);
        const found = await read();
        const left = deadline - Date.now();
        if (found.length || !feed || left <= 0 || hold.signal.aborted) return found;
        if (!holding) {
          if (held >= maxHeld) {
            refused.inc();
            throw new ApiError('BUSY', `this daemon already holds ${maxHeld} waiting event reads: retry shortly, or read without wait`, { field: 'query.wait' });
          }
          held++;
          holding = true;
        }
        // Woken by an event the filters (machine, a tenant's scope) may not show: read and wait again.
        if (!(await feed.waitFor(cursor, left, hold.signal))) return hold.signal.aborted ? found : await read();
      }
    } finally {
      if (holding) held--;
    }
  };
}
