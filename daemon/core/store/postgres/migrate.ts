// Applies the PostgreSQL migrations (migrations.ts): each in its own transaction with its row in
// rackhand_migrations, under a transaction-scoped advisory lock, so two daemons starting at once
// against one database queue on the lock and the second finds the work done. A database that a
// newer Rackhand migrated further than this one knows is refused rather than written to.
import { LOCKS, PgDb, type Client } from './db.js';
import { LATEST_VERSION, MIGRATIONS } from './migrations.js';

const TABLE = `CREATE TABLE IF NOT EXISTS rackhand_migrations (
  version    integer PRIMARY KEY,
  says       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

async function current(c: Client): Promise<number> {
  const { rows } = await c.query('SELECT coalesce(max(version), 0) AS v FROM rackhand_migrations');
  return Number((rows[0] as { v: unknown }).v);
}

/** Applies what is pending; returns the schema version after. */
export async function migrate(d: PgDb): Promise<number> {
  let version = 0;
  for (const m of MIGRATIONS) {
    version = await d.tx(async (c) => {
      // Taken before the CREATE TABLE: two first starts would otherwise race on creating it.
      await PgDb.lock(c, LOCKS.migrations);
      await c.query(TABLE);
      const v = await current(c);
      if (v > LATEST_VERSION) throw new Error(`the database's schema is at version ${v}, newer than this Rackhand knows (${LATEST_VERSION}): upgrade Rackhand`);
      if (v >= m.version) return v;
      await c.query(m.sql);
      await c.query('INSERT INTO rackhand_migrations (version, says) VALUES ($1, $2)', [m.version, m.says]);
      return m.version;
    });
  }
  return version;
}
