// Whether the store can be reached now. A store on another host (PostgreSQL) can go away — a
// restart, a failover, a network partition — while the daemon runs. Its adapter turns a failure
// to reach it into StoreUnavailable (a domain error: the API answers 503, DHCP answers only what
// is already durable), and StoreAvailability follows the outage: it goes down on the first such
// failure, probes the store with backoff until it answers, and tells its listeners once when an
// outage starts and once when it ends, however many requests failed meanwhile.

/** The store could not be reached; what was asked was not done (a transaction rolled back or never began). */
export class StoreUnavailable extends Error {
  constructor(readonly detail: string, options?: { cause?: unknown }) {
    super(`the store is unavailable: ${detail}`, options);
    this.name = 'StoreUnavailable';
  }
}

/** Socket-level failures: the server is not there, or the path to it broke. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN',
  'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENOENT' /* a Unix socket that is gone */]);
/**
 * SQLSTATEs of a server that is going away or not yet back: 57P01 admin_shutdown, 57P02
 * crash_shutdown, 57P03 cannot_connect_now (starting up, in recovery), and class 08 (connection
 * exception). Not 53300 too_many_connections: that server is up, only full.
 */
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
/** What node-postgres says when a connection ends under it or cannot be had in time. */
const DRIVER_MESSAGES = [
  /^Connection terminated/, // unexpectedly; due to connection timeout
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error and is not queryable/,
  /^Query read timeout/,
  /^Connection ended/,
];

/** Whether `err` says the store could not be reached (as opposed to a refusal of what was asked). */
export function isConnectionFailure(err: unknown): boolean {
  if (err instanceof StoreUnavailable) return true;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || SERVER_CODES.has(e.code))) return true;
  if (typeof e.message === 'string' && DRIVER_MESSAGES.some((re) => re.test(e.message as string))) return true;
  // Node's AggregateError for a host name with several addresses, each refused.
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isConnectionFailure);
}

/** `err` as StoreUnavailable when it is a connection failure; anything else unchanged. */
export function asStoreError(err: unknown): unknown {
  if (err instanceof StoreUnavailable || !isConnectionFailure(err)) return err;
  const e = err as { code?: unknown; message?: unknown };
  const detail = typeof e.message === 'string' && e.message ? e.message : String(e.code ?? err);
  return new StoreUnavailable(detail, { cause: err });
}

export interface StoreOutage {
  /** Epoch ms when the first failure was seen. */
  since: number;
  /** What that failure said. */
  reason: string;
}

export interface AvailabilityListener {
  down?(outage: StoreOutage): void;
  up?(outage: StoreOutage, durationMs: number): void;
}

/** What the rest of the daemon reads: whether the store answers now, and news of outages. */
export interface StoreAvailabilityView {
  readonly available: boolean;
  readonly outage: StoreOutage | undefined;
  listen(l: AvailabilityListener): void;
}

export interface AvailabilityOptions {
  /** One cheap round trip to the store (SELECT 1); resolves when it answered. */
  probe: () => Promise<void>;
  /** Delays between probes while down: doubling from `minMs` up to `maxMs`. */
  minMs?: number;
  maxMs?: number;
  now?: () => number;
}

export class StoreAvailability implements StoreAvailabilityView {
  private current: StoreOutage | undefined;
  private readonly listeners: AvailabilityListener[] = [];
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private checking: Promise<void> | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly opts: AvailabilityOptions) {
    this.delay = opts.minMs ?? 250;
    this.now = opts.now ?? Date.now;
  }

  get available(): boolean { return this.current === undefined; }
  get outage(): StoreOutage | undefined { return this.current; }

  listen(l: AvailabilityListener): void { this.listeners.push(l); }

  /**
   * A call reached the store: an outage, if there was one, is over — unless the call had started
   * before the outage did (its answer may have come just before the connection broke).
   */
  succeeded(startedAt = Number.POSITIVE_INFINITY): void {
    const outage = this.current;
    if (!outage || startedAt < outage.since) return;
    this.current = undefined;
    this.stopProbing();
    const took = this.now() - outage.since;
    for (const l of this.listeners) l.up?.(outage, took);
  }

  /** A call could not reach the store: an outage starts (once), and probing until it answers. */
  failed(err: unknown): void {
    if (this.current || this.closed) return;
    const reason = err instanceof StoreUnavailable ? err.detail : err instanceof Error ? err.message : String(err);
    this.current = { since: this.now(), reason };
    this.delay = this.opts.minMs ?? 250;
    for (const l of this.listeners) l.down?.(this.current);
    this.schedule();
  }

  /** Probes now (an idle connection broke: is the server gone, or only that connection?). */
  check(): Promise<void> {
    const startedAt = this.now();
    this.checking ??= this.opts.probe().then(() => this.succeeded(startedAt), (err) => {
      if (isConnectionFailure(err)) this.failed(err);
    }).finally(() => { this.checking = undefined; });
    return this.checking;
  }

  close(): void {
    this.closed = true;
    this.stopProbing();
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.check().then(() => {
        if (!this.current) return;
        this.delay = Math.min(this.delay * 2, this.opts.maxMs ?? 2000);
        this.schedule();
      });
    }, this.delay);
    this.timer.unref();
  }

  private stopProbing(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
