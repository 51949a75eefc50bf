// The PostgreSQL side of the event feed: one dedicated connection (not from the pool: a pooled
// connection is handed to transactions and released, and LISTEN belongs to a session) LISTENs on
// EVENTS_CHANNEL, and each notification's id advances the feed. Every daemon on the database,
// this one included, hears every committed event this way.
//
// When the connection is lost (the server restarts, the network drops it) notifications sent
// meanwhile are gone for good: the listener reconnects with capped exponential backoff, LISTENs
// again and then resyncs (reads the newest id from the table), so waiters wake for whatever
// committed while it was deaf. A resync also runs every few seconds regardless, for a connection
// that died silently. An outage is reported once when it starts and once when it ends, never per
// attempt.
import pg from 'pg';
import { EVENTS_CHANNEL } from './db.js';
import type { EventSignal, Resync } from '../../event-feed.js';

export interface ListenerNotes {
  /** The listening connection failed (or could not be opened): the first failure of an outage. */
  lost(err: Error): void;
  /** Listening again after an outage that lasted `downMs`. */
  restored(downMs: number): void;
}

export interface ListenerOptions {
  /** Backoff between reconnect attempts: from `minMs`, doubling, at most `maxMs`. */
  minMs?: number;
  maxMs?: number;
}

export interface EventListener {
  /** Settles after the first attempt to listen (succeeded or not: it then keeps retrying). */
  started: Promise<void>;
  close(): Promise<void>;
}

export function listenForEvents(config: pg.ClientConfig, feed: EventSignal, resync: Resync, notes: ListenerNotes, opts: ListenerOptions = {}): EventListener {
  const minMs = opts.minMs ?? 200;
  const maxMs = opts.maxMs ?? 5000;
  let client: pg.Client | undefined;
  let closed = false;
  let failures = 0;
  let downSince: number | undefined;
  let retry: NodeJS.Timeout | undefined;

  const failed = (err: Error) => {
    if (closed) return;
    if (downSince === undefined) {
      downSince = Date.now();
      notes.lost(err);
    }
    const delay = Math.min(maxMs, minMs * 2 ** Math.min(failures++, 16));
    retry = setTimeout(() => { void connect(); }, delay);
    retry.unref();
  };

  async function connect(): Promise<void> {
    retry = undefined;
    // A bounded connect, and TCP keepalive probes after 10 s idle: an unreachable server or a dead
    // peer becomes a failure (and a retry) instead of a wait without end. The periodic resync
    // covers events missed until then.
    const c = new pg.Client({
      connectionTimeoutMillis: 10_000, ...config,
      application_name: 'rackhand-listen', keepAlive: true, keepAliveInitialDelayMillis: 10_000,
    });
    // 'error', 'end' and a failed connect() may each report the same loss: it counts once.
    let gone = false;
    const drop = (err: Error) => {
      if (gone) return;
      gone = true;
      if (client === c) client = undefined;
      c.end().catch(() => undefined);
      failed(err);
    };
    c.on('error', drop);
    c.on('end', () => drop(new Error('the listening connection ended')));
    c.on('notification', (n) => {
      // The payload is our own id text; anything else on the channel is ignored.
      if (n.channel === EVENTS_CHANNEL && n.payload && /^\d{1,15}$/.test(n.payload)) feed.advance(Number(n.payload));
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (err) {
      drop(err as Error);
      return;
    }
    if (closed || gone) {
      if (!gone) { gone = true; await c.end().catch(() => undefined); }
      return;
    }
    // The listener must never keep the process alive by itself (a daemon that failed to start
    // exits at once, as the pool's allowExitOnIdle does for its connections).
    holdProcess(c, false);
    client = c;
    failures = 0;
    if (downSince !== undefined) {
      notes.restored(Date.now() - downSince);
      downSince = undefined;
    }
    // Listening from here on; what committed before (while deaf, or before start) comes from the table.
    await resync.now();
  }

  return {
    started: connect(),
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = undefined;
      if (!c) return;
      // Held while it ends: an unreferenced socket would let the process exit before end() settles.
      holdProcess(c, true);
      await c.end().catch(() => undefined);
    },
  };
}

/** Whether the connection's socket keeps the process alive (node-postgres exposes no such switch). */
function holdProcess(c: pg.Client, hold: boolean): void {
  const socket = c.connection.stream as { ref?: () => void; unref?: () => void };
  if (hold) socket.ref?.();
  else socket.unref?.();
}
