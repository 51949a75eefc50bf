// The PostgreSQL store: one pool of connections (node-postgres) to a database many daemons may
// share. Each port is built in postgres/ on the shared pool; this file opens it, migrates the
// schema, and composes them. Every state change is one compare-and-set and its event in one
// transaction; what differs from SQLite, and why, is in postgres/migrations.ts and postgres/db.ts.
import pg from 'pg';
import { PgDb } from './postgres/db.js';
import { migrate } from './postgres/migrate.js';
import { pgMachineStore } from './postgres/machines.js';
import { pgOperationStore } from './postgres/operations.js';
import { pgLeaseStore } from './postgres/leases.js';
import { pgAllocationStore } from './postgres/allocations.js';
import { pgApiTokenStore } from './postgres/api-tokens.js';
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
  /** Milliseconds to wait for a connection (a new one, or a free one of the pool) before failing (default 3000). */
  connectTimeoutMs?: number;
  /** Milliseconds a query may wait for its answer before its connection is given up (default 30000). */
  queryTimeoutMs?: number;
}

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
  const store = postgresStore(pool, availability);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function postgresStore(pool: pg.Pool, availability: StoreAvailability): Store {
  const d = new PgDb(pool, availability);
  let closed: Promise<void> | undefined;
  return {
    ...pgMachineStore(d),
    ...pgOperationStore(d),
    ...pgLeaseStore(d),
    ...pgAllocationStore(d),
    ...pgApiTokenStore(d),
    migrate: () => migrate(d),
    availability,
    close() {
      availability.close();
      closed ??= pool.end();
      return closed;
    },
  };
}
