// The connection pool every port of the PostgreSQL adapter shares, its transactions, and the reads
// and writes several ports need inside them.
//
// Event order: `events --follow` reads forward from the last id it saw, so an event must never
// become visible after one with a greater id. An identity column hands out ids at INSERT, not at
// COMMIT, so two transactions committing out of order would break that. Every transaction that
// writes an event therefore takes one transaction-scoped advisory lock first (EVENT_ORDER), before
// any row lock: such transactions commit one at a time, in id order, and, taking that lock before
// anything else, they cannot deadlock with one another. Lease writes, nonce trades and progress
// updates write no event and run in parallel.
//
// Fan-out: the INSERT of every event also sends pg_notify(EVENTS_CHANNEL, id), in the same
// transaction, so it is delivered at COMMIT and only if it commits, to every daemon LISTENing on
// the database (postgres/listen.ts feeds its event feed with it). Notifications are not stored:
// a daemon whose listening connection is down misses them, and resyncs from the table.
//
// U+0000: PostgreSQL's text and jsonb cannot hold it, and only hostile input carries one (a DHCP
// vendor class, an agent's error message). Every string parameter, and every string inside a
// jsonb value, is written with U+FFFD in its place, so such input is kept (marked) rather than
// failing the write it came with.
import pg from 'pg';
import { eventFromRow, machineFromRow, type Row } from './rows.js';
import type { EventRecord, MachineRecord, NewEvent } from '../records.js';
import type { State } from '../../lifecycle.js';
import { asStoreError, isConnectionFailure, type StoreAvailability } from '../availability.js';

export const now = () => new Date().toISOString();

/** Advisory lock keys (two-int form): Rackhand's class, then which lock. */
const LOCK_CLASS = 0x5241434b; // 'RACK'
export const LOCKS = { migrations: 1, eventOrder: 2 } as const;

/** SQLSTATEs after which the whole transaction is safe to run again. */
const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected
export const UNIQUE_VIOLATION = '23505';

/** The NOTIFY channel every committed event is announced on (its payload: the event id). */
export const EVENTS_CHANNEL = 'rackhand_events';

/** What the adapter's SQL runs on: a connection inside a transaction, its parameters cleaned. */
export interface Client {
  query(sql: string, params?: unknown[]): Promise<pg.QueryResult<Row>>;
}

const NUL = /\u0000/g;
// Arrays too: a batch passes its columns as arrays (unnest), a lease's hostname among them.
const clean = (v: unknown): unknown => (typeof v === 'string' ? v.replace(NUL, '\ufffd') : Array.isArray(v) ? v.map(clean) : v);
const cleaned = (params: unknown[] | undefined) => params?.map(clean);

export interface TxOptions {
  /** The transaction writes events: take the event-order lock first (see the header). */
  events?: boolean;
  /** Other SQLSTATEs after which to run it again (a lease write losing a race to an address). */
  retryOn?: string[];
}

/** BEGIN failed: nothing of the transaction reached the server. */
class NotBegun extends Error {
  constructor(override readonly cause: Error) { super(cause.message); }
}

export class PgDb {
  /** `availability` hears of every call: a connection failure becomes StoreUnavailable (see availability.ts). */
  constructor(readonly pool: pg.Pool, readonly availability?: StoreAvailability) {}

  /** Runs one call to the server, telling availability whether it got through. */
  private async reach<T>(call: () => Promise<T>): Promise<T> {
    const startedAt = Date.now();
    try {
      const result = await call();
      this.availability?.succeeded(startedAt);
      return result;
    } catch (raw) {
      const err = asStoreError(raw);
      if (err === raw) this.availability?.succeeded(startedAt); // the server answered, with a refusal
      else this.availability?.failed(err);
      throw err;
    }
  }

  async rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.reach(() => this.pool.query<Row>(sql, cleaned(params)))).rows;
  }

  async row(sql: string, params: unknown[] = []): Promise<Row | undefined> {
    return (await this.rows(sql, params))[0];
  }

  /** Rows changed by one statement outside any transaction of ours. */
  async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.reach(() => this.pool.query(sql, cleaned(params)))).rowCount ?? 0;
  }

  /**
   * Runs `fn` in one transaction on one connection; what it throws rolls back everything it
   * wrote. A deadlock or serialization failure (or a code in `retryOn`) runs it again, a few times.
   */
  async tx<T>(fn: (c: Client) => Promise<T>, opts: TxOptions = {}): Promise<T> {
    return this.reach(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.once(fn, opts);
        } catch (err) {
          // A pooled connection the server dropped while it sat idle (a restart, a failover) fails
          // at BEGIN, before anything was sent: run it once more, on a new connection.
          if (err instanceof NotBegun) {
            if (attempt >= 2 || !isConnectionFailure(err.cause)) throw err.cause;
            continue;
          }
          const code = (err as { code?: string }).code ?? '';
          if (attempt >= 5 || !(RETRYABLE.has(code) || opts.retryOn?.includes(code))) throw err;
        }
      }
    });
  }

  private async once<T>(fn: (c: Client) => Promise<T>, opts: TxOptions): Promise<T> {
    const conn = await this.pool.connect();
    const c: Client = { query: (sql, params) => conn.query<Row>(sql, cleaned(params)) };
    let broken: Error | undefined;
    // A checked-out connection has no listener of the pool's: a socket error (EPIPE, a reset)
    // arriving while it is ours would be an unhandled 'error' event and end the process. The
    // query under way fails with it anyway; the connection is dropped at release.
    const onError = (err: Error) => { broken = err; };
    conn.on('error', onError);
    try {
      await c.query('BEGIN').catch((err: Error) => { broken = err; throw new NotBegun(err); });
      if (opts.events) await PgDb.lock(c, LOCKS.eventOrder);
      const result = await fn(c);
      await c.query('COMMIT');
      return result;
    } catch (err) {
      // A connection that cannot even roll back is dropped from the pool, not reused.
      if (!broken) await c.query('ROLLBACK').catch((e: Error) => { broken = e; });
      throw err;
    } finally {
      conn.off('error', onError);
      conn.release(broken);
    }
  }

  /** Takes an advisory lock held until the transaction ends. */
  static async lock(c: Client, which: number): Promise<void> {
    await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, which]);
  }
}

export async function machineIn(c: Client, name: string, forUpdate = false): Promise<MachineRecord | undefined> {
  const { rows } = await c.query(`SELECT * FROM machines WHERE name = $1${forUpdate ? ' FOR UPDATE' : ''}`, [name]);
  return rows[0] && machineFromRow(rows[0]);
}

/**
 * Inserts one event and announces its id on EVENTS_CHANNEL (one statement: no extra round trip);
 * the transaction must hold the event-order lock (TxOptions.events).
 */
export async function insertEvent(c: Client, ev: NewEvent & { from?: State | null; to?: State | null }): Promise<EventRecord> {
  const { rows } = await c.query(`WITH inserted AS (
        INSERT INTO events (time, machine, kind, event, from_state, to_state, cause, actor, data)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *)
      SELECT inserted.*, pg_notify('${EVENTS_CHANNEL}', inserted.id::text) FROM inserted`,
  [now(), ev.machine, ev.kind, ev.event ?? null, ev.from ?? null, ev.to ?? null, ev.cause ?? null, ev.actor, jsonb(ev.data ?? null)]);
  return eventFromRow(rows[0]!);
}

/** The newest committed event id (0 for none): the event feed's resync. */
export async function newestEventId(d: PgDb): Promise<number> {
  return Number((await d.row('SELECT coalesce(max(id), 0) AS id FROM events'))!.id);
}

/**
 * A value for a jsonb parameter, as JSON text (node-postgres would send an array as a PostgreSQL
 * array), with U+0000 in strings written as U+FFFD (see the header).
 */
export const jsonb = (v: unknown): string | null =>
  (v === null || v === undefined ? null : JSON.stringify(v, (_key, value: unknown) => clean(value)));
