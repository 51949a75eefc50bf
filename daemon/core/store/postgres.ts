// The PostgreSQL store: one pool of connections (node-postgres) to a database many daemons may
// share. Each port is built in postgres/ on the shared pool; this file opens it, migrates the
// schema, and composes them. Every state change is one compare-and-set and its event in one
// transaction; what differs from SQLite, and why, is in postgres/migrations.ts and postgres/db.ts.
import pg from 'pg';
import { newestEventId, PgDb } from './postgres/db.js';
import { migrate } from './postgres/migrate.js';
import { pgMachineStore } from './postgres/machines.js';
import { pgOperationStore } from './postgres/operations.js';
import { pgLeaseStore } from './postgres/leases.js';
import { pgAllocationStore } from './postgres/allocations.js';
import { pgApiTokenStore } from './postgres/api-tokens.js';
import { pgRackStore } from './postgres/racks.js';
import { pgWorkStore } from './postgres/work.js';
import { pgBootTraceStore } from './postgres/boot-trace.js';
import { pgUiSessionStore } from './postgres/ui-sessions.js';
import { listenForEvents, type ListenerNotes } from './postgres/listen.js';
import { EventSignal, resyncEvery } from '../event-feed.js';
import type { Store } from './ports.js';
import { StoreAvailability } from './availability.js';

export interface PostgresOptions {
  /** Connections at most (default 10). */
  maxConnections?: number;
  /**
   * An idle connection failed (the server restarted, the network dropped it): the pool drops it
   * and opens another when needed. Without a listener such an error would end the process.
   */
  onIdleError?: (err: Error) => void;
  /** The event feed's listening connection was lost, or is back (each once per outage). */
  onListener?: Partial<ListenerNotes>;
  /** Milliseconds to wait for a connection (a new one, or a free one of the pool) before failing (default 3000). */
  connectTimeoutMs?: number;
  /** Milliseconds a query may wait for its answer before its connection is given up (default 30000). */
  queryTimeoutMs?: number;
}

/** How often the event feed rereads the newest id whatever the notifications said. */
const RESYNC_MS = 5000;

/** A `postgresql://` URL (libpq's form; the password may come from PGPASSWORD or ~/.pgpass) or node-postgres's pool settings. */
export async function openPostgresStore(target: string | pg.PoolConfig, opts: PostgresOptions = {}): Promise<Store> {
  const config: pg.PoolConfig = typeof target === 'string' ? { connectionString: target } : target;
  // allowExitOnIdle: a daemon that fails to start after opening the store still exits at once.
  // While the server is away, calls fail within the connect timeout instead of waiting for it; a
  // connection whose peer vanished without a word (a partition) is found by TCP keepalive or,
  // in the middle of a query, by the query timeout, and dropped from the pool.
  const pool = new pg.Pool({
    application_name: 'rackhand', max: opts.maxConnections ?? 10, allowExitOnIdle: true,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 3000, query_timeout: opts.queryTimeoutMs ?? 30_000,
    keepAlive: true, keepAliveInitialDelayMillis: 10_000, ...config,
  });
  const availability = new StoreAvailability({ probe: async () => { await pool.query('SELECT 1'); } });
  pool.on('error', (err) => {
    opts.onIdleError?.(err);
    // Only that connection, or the whole server? A probe tells.
    void availability.check();
  });
  const d = new PgDb(pool, availability);
  try {
    await migrate(d);
  } catch (err) {
    availability.close();
    await pool.end();
    throw err;
  }
  // Started after the schema exists: its first resync reads the events table.
  const feed = new EventSignal();
  const resync = resyncEvery(feed, () => newestEventId(d), RESYNC_MS);
  const listener = listenForEvents(config, feed, resync, {
    lost: (err) => opts.onListener?.lost?.(err),
    restored: (ms) => opts.onListener?.restored?.(ms),
  });
  await listener.started;
  return postgresStore(d, availability, feed, async () => {
    resync.stop();
    feed.close();
    await listener.close();
  });
}

function postgresStore(d: PgDb, availability: StoreAvailability, feed: EventSignal, closeFeed: () => Promise<void>): Store {
  const { pool } = d;
  let closed: Promise<void> | undefined;
  return {
    eventFeed: feed,
    ...pgMachineStore(d),
    ...pgOperationStore(d),
    ...pgLeaseStore(d),
    ...pgAllocationStore(d),
    ...pgApiTokenStore(d),
    ...pgRackStore(d),
    ...pgWorkStore(d),
    ...pgBootTraceStore(d),
    ...pgUiSessionStore(d),
    migrate: () => migrate(d),
    availability,
    close() {
      availability.close();
      closed ??= closeFeed().then(() => pool.end());
      return closed;
    },
  };
}
