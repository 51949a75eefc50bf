// One BMC answers one caller at a time: many BMCs drop or reject a second RMCP+ session or a
// second Redfish Reset while one is in flight. Callers queue per key (address:port) in arrival
// order; different BMCs run in parallel.
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    // The stored tail never rejects, so one failure does not poison the queue.
    const tail = next.then(() => undefined, () => undefined);
    this.tails.set(key, tail);
    void tail.then(() => { if (this.tails.get(key) === tail) this.tails.delete(key); });
    return next;
  }

  /** Keys with work queued or running (for tests and /metrics). */
  get busy(): number { return this.tails.size; }
}

/** The process-wide queue: every driver instance for one BMC shares it. */
export const bmcQueue = new KeyedQueue();
