// Power state for readers who may not make the BMC work for them (tenants, read-only tokens).
// Answers come from a short per-machine cache; when it is stale, every concurrent reader of
// the machine shares one BMC call, and reader calls to one BMC enter its queue one at a time
// (a lane per BMC), so no number of readers ever puts more than one status call per BMC in
// the queue ahead of an operator. When every reader of a shared call has gone away, the call
// is cancelled (dequeued, or aborted while running). Failures are cached too: a BMC that is
// down must not be asked again by every reader.
import { PowerError } from './errors.js';
import { KeyedQueue } from './queue.js';
import type { CallerOptions } from './managed.js';
import type { PowerState } from './types.js';

/** What the cache needs of a managed driver (ManagedPower has it). */
export interface StatusSource {
  readonly driver: { readonly bmcKey: string };
  status(o?: CallerOptions): Promise<PowerState>;
}

export interface StatusRead { state: PowerState; readAt: Date; cached: boolean }

type Outcome = { ok: true; state: PowerState } | { ok: false; error: unknown };

interface Entry { source: StatusSource; at: number; outcome: Outcome }

interface Shared {
  source: StatusSource;
  promise: Promise<{ state: PowerState; at: number }>;
  abort: AbortController;
  readers: number;
}

/** Seconds-scale: long enough to absorb a poller or a stampede, short enough to stay true. */
export const STATUS_CACHE_MS = 5000;

export class PowerStatusCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Shared>();
  private readonly lanes = new KeyedQueue();
  private readonly ttl: number;
  private readonly now: () => number;

  constructor(opts: { ttlMs?: number; now?: () => number } = {}) {
    this.ttl = opts.ttlMs ?? STATUS_CACHE_MS;
    this.now = opts.now ?? Date.now;
  }

  /** The machine's state, from the cache while fresh, else from one shared BMC call. */
  read(machine: string, source: StatusSource, o: CallerOptions = {}): Promise<StatusRead> {
    const hit = this.entries.get(machine);
    if (hit && hit.source === source && this.now() - hit.at < this.ttl) {
      if (!hit.outcome.ok) return Promise.reject(hit.outcome.error);
      return Promise.resolve({ state: hit.outcome.state, readAt: new Date(hit.at), cached: true });
    }
    let shared = this.inflight.get(machine);
    if (!shared || shared.source !== source) shared = this.start(machine, source);
    return this.join(shared, machine, o.signal);
  }

  /** An operator's own fresh read (or a power change) refreshes what readers see. */
  record(machine: string, source: StatusSource, state: PowerState): void {
    this.entries.set(machine, { source, at: this.now(), outcome: { ok: true, state } });
  }

  /** Forget a machine's state (its power was just changed and the new state is not known). */
  forget(machine: string): void { this.entries.delete(machine); }

  /** Reader calls waiting or running, for tests. */
  get inFlight(): number { return this.inflight.size; }

  private start(machine: string, source: StatusSource): Shared {
    const abort = new AbortController();
    const key = source.driver.bmcKey;
    const promise = this.lanes.run(key, () => source.status({ signal: abort.signal }), abort.signal).then(
      (state) => {
        const at = this.now();
        this.entries.set(machine, { source, at, outcome: { ok: true, state } });
        return { state, at };
      },
      (error: unknown) => {
        // A cancelled call says nothing about the BMC: not cached.
        if (!abort.signal.aborted) this.entries.set(machine, { source, at: this.now(), outcome: { ok: false, error } });
        throw error;
      },
    ).finally(() => { if (this.inflight.get(machine) === shared) this.inflight.delete(machine); });
    // Readers get their own settlement through join(); this one only keeps the rejection handled.
    promise.catch(() => undefined);
    const shared: Shared = { source, promise, abort, readers: 0 };
    this.inflight.set(machine, shared);
    return shared;
  }

  private join(shared: Shared, machine: string, signal?: AbortSignal): Promise<StatusRead> {
    shared.readers++;
    return new Promise<StatusRead>((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        reject(new PowerError('CANCELLED', machine, 'status', 'the reader went away'));
        // The last reader out takes the BMC call with it.
        if (--shared.readers === 0) {
          if (this.inflight.get(machine) === shared) this.inflight.delete(machine);
          shared.abort.abort();
        }
      };
      if (signal?.aborted) return leave();
      signal?.addEventListener('abort', leave, { once: true });
      shared.promise.then(
        (r) => { if (left) return; left = true; signal?.removeEventListener('abort', leave); resolve({ state: r.state, readAt: new Date(r.at), cached: false }); },
        (e: unknown) => { if (left) return; left = true; signal?.removeEventListener('abort', leave); reject(e); },
      );
    });
  }
}
