// One BMC answers one caller at a time: many BMCs drop or reject a second RMCP+ session or a
// second Redfish Reset while one is in flight. Callers queue per key (address:port) in arrival
// order; different BMCs run in parallel. A caller that gives up (its signal aborts) while still
// waiting leaves the queue at once, so an abandoned request never delays the ones behind it;
// once started, a job is the job's own business (it gets no signal from here).

interface Job {
  fn: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** Stops listening to the caller's signal (the job started or left). */
  detach: () => void;
}

interface Lane { running: boolean; waiting: Job[] }

/** What a cancelled caller is rejected with: the signal's own reason, else a plain AbortError. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('the caller went away', 'AbortError');
}

export class KeyedQueue {
  private readonly lanes = new Map<string, Lane>();

  run<T>(key: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    let lane = this.lanes.get(key);
    if (!lane) { lane = { running: false, waiting: [] }; this.lanes.set(key, lane); }
    const l = lane;
    return new Promise<T>((resolve, reject) => {
      const job: Job = { fn, resolve: resolve as (v: unknown) => void, reject, detach: () => {} };
      if (signal) {
        const leave = () => {
          const i = l.waiting.indexOf(job);
          if (i < 0) return;
          l.waiting.splice(i, 1);
          if (!l.running && l.waiting.length === 0) this.lanes.delete(key);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', leave, { once: true });
        job.detach = () => signal.removeEventListener('abort', leave);
      }
      l.waiting.push(job);
      this.pump(key, l);
    });
  }

  private pump(key: string, lane: Lane): void {
    if (lane.running) return;
    const job = lane.waiting.shift();
    if (!job) { if (this.lanes.get(key) === lane) this.lanes.delete(key); return; }
    lane.running = true;
    job.detach();
    // A job's failure settles its own caller only: the lane goes on with the next one.
    void Promise.resolve().then(job.fn).then(job.resolve, job.reject).finally(() => {
      lane.running = false;
      this.pump(key, lane);
    });
  }

  /** Keys with work queued or running (for tests and /metrics). */
  get busy(): number { return this.lanes.size; }

  /** Each BMC with work now: whether a call is in flight and how many wait behind it (the dashboard). */
  lanesNow(): { key: string; running: boolean; waiting: number }[] {
    return [...this.lanes].map(([key, l]) => ({ key, running: l.running, waiting: l.waiting.length }));
  }

  /** Jobs waiting (not yet started) for one key. */
  waiting(key: string): number { return this.lanes.get(key)?.waiting.length ?? 0; }
}

/** The process-wide queue: every driver instance for one BMC shares it. */
export const bmcQueue = new KeyedQueue();
