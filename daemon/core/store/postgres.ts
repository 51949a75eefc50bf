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
import { pgRackStore } from './postgres/racks.js';
import { pgWorkStore } from './postgres/work.js';
import type { Store } from './ports.js';

export interface PostgresOptions {
  /** Connections at most (default 10). */
  maxConnections?: number;
  /**
   * An idle connection failed (the server restarted, the network dropped it): the pool drops it
   * and opens another when needed. Without a listener such an error would end the process.
   */
  onIdleError?: (err: Error) => void;
}

/** A `postgresql://` URL (libpq's form; the password may come from PGPASSWORD or ~/.pgpass) or node-postgres's pool settings. */
export async function openPostgresStore(target: string | pg.PoolConfig, opts: PostgresOptions = {}): Promise<Store> {
  const config: pg.PoolConfig = typeof target === 'string' ? { connectionString: target } : target;
  // allowExitOnIdle: a daemon that fails to start after opening the store still exits at once.
  const pool = new pg.Pool({ application_name: 'rackhand', max: opts.maxConnections ?? 10, allowExitOnIdle: true, ...config });
  pool.on('error', (err) => opts.onIdleError?.(err));
  const store = postgresStore(pool);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function postgresStore(pool: pg.Pool): Store {
  const d = new PgDb(pool);
  let closed: Promise<void> | undefined;
  return {
    ...pgMachineStore(d),
    ...pgOperationStore(d),
    ...pgLeaseStore(d),
    ...pgAllocationStore(d),
    ...pgApiTokenStore(d),
    ...pgRackStore(d),
    ...pgWorkStore(d),
    migrate: () => migrate(d),
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}
