// The one SQLite connection every port of the adapter shares: prepared statements cached by their
// text (preparing costs more than running, on the DHCP hot path above all), write transactions
// taken at once (BEGIN IMMEDIATE: two processes on one file queue on the lock instead of failing
// to upgrade a read), and the reads and writes several ports need inside their transactions.
import type Database from 'better-sqlite3';
import { eventFromRow, json, machineFromRow, type Row } from './rows.js';
import type { EventRecord, MachineRecord, NewEvent } from '../records.js';
import type { State } from '../../lifecycle.js';

export const now = () => new Date().toISOString();

export class SqliteDb {
  private readonly statements = new Map<string, Database.Statement>();
  /** The greatest event id the open write transaction inserted: announced only if it commits. */
  private uncommittedEvent = 0;
  /**
   * One transaction wrapper for every write: better-sqlite3 builds a new one per db.transaction()
   * call (about 10 µs, a tenth of a lease write on the DHCP path).
   */
  private readonly writeTx: Database.Transaction<(fn: () => unknown) => unknown>;

  /** `onEventsCommitted` hears the newest event id each time events commit (the event feed). */
  constructor(readonly db: Database.Database, private readonly onEventsCommitted: (newest: number) => void = () => undefined) {
    this.writeTx = db.transaction((fn: () => unknown) => fn());
  }

  stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) { st = this.db.prepare(sql); this.statements.set(sql, st); }
    return st;
  }

  /**
   * Runs `fn` in one write transaction; what it throws rolls back everything it wrote. Inside,
   * only the synchronous helpers below (and statements) may be used: nothing awaits in a transaction.
   */
  write<T>(fn: () => T): T {
    // Nested: a savepoint inside the open transaction (what db.transaction does when nested).
    if (this.db.inTransaction) return this.writeTx.immediate(fn) as T;
    this.uncommittedEvent = 0;
    try {
      const result = this.writeTx.immediate(fn) as T;
      if (this.uncommittedEvent) this.onEventsCommitted(this.uncommittedEvent);
      return result;
    } finally {
      this.uncommittedEvent = 0;
    }
  }

  machine(name: string): MachineRecord | undefined {
    const row = this.stmt('SELECT * FROM machines WHERE name = ?').get(name) as Row | undefined;
    return row && machineFromRow(row);
  }

  insertEvent(ev: NewEvent & { from?: State | null; to?: State | null }): EventRecord {
    const info = this.stmt(`INSERT INTO events (time, machine, kind, event, from_state, to_state, cause, actor, data)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(now(), ev.machine, ev.kind, ev.event ?? null, ev.from ?? null, ev.to ?? null, ev.cause ?? null, ev.actor,
        ev.data ? json(ev.data) : null);
    const event = eventFromRow(this.stmt('SELECT * FROM events WHERE id = ?').get(info.lastInsertRowid) as Row);
    // Outside a transaction the insert has committed already (appendEvent).
    if (this.db.inTransaction) this.uncommittedEvent = Math.max(this.uncommittedEvent, event.id);
    else this.onEventsCommitted(event.id);
    return event;
  }

  /** The newest event id in the file (another process may have written it): the feed's resync. */
  newestEventId(): number {
    return Number((this.stmt('SELECT coalesce(max(id), 0) AS id FROM events').get() as Row).id);
  }
}
