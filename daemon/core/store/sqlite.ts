// The SQLite store: one file in the state directory, WAL journal (readers never block the writer,
// and a process killed at any instant leaves the last committed transaction intact), foreign
// keys on, a busy timeout so two processes on one file wait rather than fail. Each port is built
// in sqlite/ on the one shared connection; this file opens it, migrates it, and composes them.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from './sqlite/migrations.js';
import { SqliteDb } from './sqlite/db.js';
import { FALLBACK_CHECKPOINT_PAGES, startCheckpointer, type Checkpointer } from './sqlite/checkpointer.js';
import { sqliteMachineStore } from './sqlite/machines.js';
import { sqliteOperationStore } from './sqlite/operations.js';
import { sqliteLeaseStore } from './sqlite/leases.js';
import { sqliteAllocationStore } from './sqlite/allocations.js';
import { sqliteApiTokenStore } from './sqlite/api-tokens.js';
import { sqliteRackStore } from './sqlite/racks.js';
import { sqliteWorkStore } from './sqlite/work.js';
import { sqliteBootTraceStore } from './sqlite/boot-trace.js';
import { sqliteUiSessionStore } from './sqlite/ui-sessions.js';
import { EventSignal, resyncEvery } from '../event-feed.js';
import type { Store } from './ports.js';

export interface SqliteOptions {
  /** `normal` survives a process crash; `full` also survives power loss, at an fsync per commit. */
  synchronous?: 'normal' | 'full';
  /**
   * Checkpoint the WAL in a worker thread (sqlite/checkpointer.ts) rather than on the committing
   * thread: the daemon's choice; `warn` hears when that fails.
   */
  checkpointInBackground?: { warn(message: string): void };
}

/** The SQLite store is the Store, nothing more: callers never reach past the ports. */
export type SqliteStore = Store;

export async function openSqliteStore(file: string, opts: SqliteOptions = {}): Promise<SqliteStore> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous ?? 'normal'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  let checkpointer: Checkpointer | undefined;
  if (opts.checkpointInBackground && file !== ':memory:') {
    db.pragma(`wal_autocheckpoint = ${FALLBACK_CHECKPOINT_PAGES}`);
    checkpointer = startCheckpointer(file, opts.checkpointInBackground.warn);
  }
  const store = sqliteStore(db, checkpointer);
  await store.migrate();
  return store;
}

/** How often the event feed rereads the newest id (another process may write the same file). */
const RESYNC_MS = 5000;

function sqliteStore(db: Database.Database, checkpointer: Checkpointer | undefined): Store {
  // Fed in process as this connection commits events; the resync catches other writers of the file.
  const feed = new EventSignal();
  const d = new SqliteDb(db, (newest) => feed.advance(newest));
  const resync = resyncEvery(feed, async () => d.newestEventId(), RESYNC_MS);
  return {
    eventFeed: feed,
    ...sqliteMachineStore(d),
    ...sqliteOperationStore(d),
    ...sqliteLeaseStore(d),
    ...sqliteAllocationStore(d),
    ...sqliteApiTokenStore(d),
    ...sqliteRackStore(d),
    ...sqliteWorkStore(d),
    ...sqliteBootTraceStore(d),
    ...sqliteUiSessionStore(d),
    async migrate() {
      const current = () => db.pragma('user_version', { simple: true }) as number;
      for (const m of MIGRATIONS) {
        d.write(() => {
          // Re-read inside the write lock: another process may have migrated meanwhile.
          if (current() >= m.version) return;
          db.exec(m.sql);
          db.pragma(`user_version = ${m.version}`);
        });
      }
      // The feed starts from the newest event there is: a follower waits for the next one.
      feed.advance(d.newestEventId());
      return current();
    },
    async close() {
      resync.stop();
      feed.close();
      if (db.open) d.commitQueued();
      await checkpointer?.stop();
      if (db.open) db.close();
    },
  };
}
