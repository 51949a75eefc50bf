// The one SQLite connection every port of the adapter shares: prepared statements cached by their
// text (preparing costs more than running, on the DHCP hot path above all), write transactions
// taken at once (BEGIN IMMEDIATE: two processes on one file queue on the lock instead of failing
// to upgrade a read), and the reads and writes several ports need inside their transactions.
// The ports' writes go through commit(): every write asked for in one turn of the event loop is
// committed by one transaction, each in a savepoint of its own (all of it or none of it, and a
// failing one takes no other with it), and each caller hears of its write only once that
// transaction has committed. A boot storm asks for thousands of small writes a second; one
// commit each was the larger part of what the store cost (BENCHMARKS.md, bench/storm).
import type Database from 'better-sqlite3';
import { eventFromRow, json, machineFromRow, type Row } from './rows.js';
import type { EventRecord, MachineRecord, NewEvent } from '../records.js';
import type { State } from '../../lifecycle.js';

export const now = () => new Date().toISOString();

/** The most turns, and milliseconds, a batch of writes waits for more while more keep arriving. */
export const GATHER_TURNS = 8;
export const GATHER_MS = 10;

export class SqliteDb {
  private readonly statements = new Map<string, Database.Statement>();
  /** The greatest event id the open write transaction inserted: announced only if it commits. */
  private uncommittedEvent = 0;
  /**
   * One transaction wrapper for every write: better-sqlite3 builds a new one per db.transaction()
   * call (about 10 µs, a tenth of a lease write on the DHCP path).
   */
  private readonly writeTx: Database.Transaction<(fn: () => unknown) => unknown>;
  /** Writes asked for since the last commit, in order. */
  private queued: { fn: () => unknown; resolve(v: unknown): void; reject(err: unknown): void }[] = [];

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

  /**
   * Runs `fn` (synchronous statements only, as write()) in the transaction that commits this turn's
   * writes, after those asked for before it; resolves with its result once that transaction has
   * committed, or rejects with what `fn` threw (its writes undone) or with why the commit failed.
   */
  commit<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queued.push({ fn, resolve: resolve as (v: unknown) => void, reject }) === 1) {
        this.gathering = { since: performance.now(), seen: 1, turns: 0 };
        setImmediate(this.endOfTurn);
      }
    });
  }

  /**
   * At the end of a turn with writes queued: commits them, unless more came in during that turn
   * than before it. Then others are writing at once (a boot storm: DHCP, agents, the work runner)
   * and the next turn's writes most likely join them: one commit for all, up to GATHER_TURNS turns
   * or GATHER_MS. A lone writer (one write, awaited, then the next) commits at the end of its turn,
   * as before; so do a turn's writes once no more arrive. A commit is the costly part of a write
   * (its pages into the WAL); in a storm most batches held one to three writes.
   */
  private gathering = { since: 0, seen: 0, turns: 0 };
  private readonly endOfTurn = (): void => {
    const g = this.gathering;
    const n = this.queued.length;
    if (n > g.seen && g.turns < GATHER_TURNS && performance.now() - g.since < GATHER_MS) {
      g.seen = n;
      g.turns++;
      setImmediate(this.endOfTurn);
      return;
    }
    this.commitQueued();
  };

  /** Commits the writes asked for so far now (the store closing), rather than at the end of the turn. */
  commitQueued(): void {
    const batch = this.queued;
    if (!batch.length) return;
    this.queued = [];
    const results: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      // Alone, a write is the transaction; among others each is a savepoint: what one throws
      // undoes its writes only, events included (their ids are handed out again: never announce one).
      const alone = batch.length === 1;
      this.write(() => {
        for (const w of batch) {
          if (alone) { results.push({ ok: true, value: w.fn() }); continue; }
          const events = this.uncommittedEvent;
          this.stmt('SAVEPOINT queued_write').run();
          try {
            const value = w.fn();
            this.stmt('RELEASE queued_write').run();
            results.push({ ok: true, value });
          } catch (error) {
            this.stmt('ROLLBACK TO queued_write').run();
            this.stmt('RELEASE queued_write').run();
            this.uncommittedEvent = events;
            results.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => { const r = results[i]!; if (r.ok) w.resolve(r.value); else w.reject(r.error); });
  }

  machine(name: string): MachineRecord | undefined {
    const row = this.stmt('SELECT * FROM machines WHERE name = ?').get(name) as Row | undefined;
    return row && machineFromRow(row);
  }

  insertEvent(ev: NewEvent & { from?: State | null; to?: State | null }): EventRecord {
    const row: Row = {
      time: now(), machine: ev.machine, kind: ev.kind, event: ev.event ?? null, from_state: ev.from ?? null, to_state: ev.to ?? null,
      cause: ev.cause ?? null, actor: ev.actor, data: ev.data ? json(ev.data) : null,
    };
    const info = this.stmt(`INSERT INTO events (time, machine, kind, event, from_state, to_state, cause, actor, data)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(row.time, row.machine, row.kind, row.event, row.from_state, row.to_state, row.cause, row.actor, row.data);
    // The record as it would read back: the row just written and its id.
    const event = eventFromRow({ ...row, id: Number(info.lastInsertRowid) });
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
