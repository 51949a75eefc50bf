// What the lifecycle calls: a driver wrapped with the policy every driver shares. Calls to one
// BMC are serialized (the whole operation, poll included, so "on" then "off" cannot interleave);
// each BMC call has a timeout; transient failures (UNREACHABLE, TIMEOUT) are retried with
// exponential backoff, others (AUTH_FAILED above all: retrying a wrong password can lock the
// account) are not; after on/off/cycle the state is polled until it matches, within a bound.
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { PowerError, isPowerError } from './errors.js';
import { bmcQueue, type KeyedQueue } from './queue.js';
import type { PowerMetrics } from './metrics.js';
import type { BootDeviceRequest, CallOptions, PowerDriver, PowerState } from './types.js';

export interface RetryPolicy {
  /** Extra attempts after the first. */
  retries: number;
  /** First delay (ms); each next one is `factor` times longer, at most `max`. */
  initial: number;
  factor: number;
  max: number;
}

export interface ManagedOptions {
  machine: string;
  log?: Logger;
  queue?: KeyedQueue;
  retry?: Partial<RetryPolicy>;
  /** Bound of one BMC call (ms). */
  callTimeout?: number;
  /** State polling after a change: every `interval` ms, giving up after `timeout` ms. */
  poll?: { interval?: number; timeout?: number };
  /** Called for every completed operation and every retry: for events. Never carries a secret. */
  onNote?: (note: { machine: string; driver: string; action: string; outcome: 'ok' | 'retry' | 'failed'; detail?: string; attempt?: number }) => void;
  metrics?: PowerMetrics;
  /** Replaces setTimeout-based waiting (unit tests). */
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, initial: 500, factor: 2, max: 8000 };

export function backoffDelays(p: RetryPolicy): number[] {
  return Array.from({ length: p.retries }, (_, i) => Math.min(p.max, p.initial * p.factor ** i));
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ManagedPower {
  private readonly log: Logger;
  private readonly queue: KeyedQueue;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(readonly driver: PowerDriver, private readonly opts: ManagedOptions) {
    this.log = (opts.log ?? silentLogger).child({ machine: opts.machine, driver: driver.kind, bmc: driver.bmcKey });
    this.queue = opts.queue ?? bmcQueue;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.sleep = opts.sleep ?? realSleep;
  }

  validate(): Promise<void> { return this.driver.validate(); }

  status(): Promise<PowerState> {
    return this.serial('status', () => this.attempt('status', (o) => this.driver.getPowerState(o)));
  }

  on(): Promise<PowerState> { return this.change('on'); }
  off(): Promise<PowerState> { return this.change('off'); }

  /** Power cycle (or on when off), then wait until the machine is on again. */
  cycle(): Promise<PowerState> {
    return this.serial('cycle', async () => {
      if (!this.driver.capabilities.powerOff) {
        // wol: no way to turn a machine off, so a "cycle" can only be a wake-up.
        await this.attempt('on', (o) => this.driver.setPowerState('on', o));
        return 'unknown';
      }
      await this.attempt('cycle', (o) => this.driver.reboot(o));
      return this.pollUntil('on', 'cycle');
    });
  }

  setBootDevice(req: BootDeviceRequest): Promise<void> {
    return this.serial('boot-device', () => this.attempt('boot-device', (o) => this.driver.setBootDevice(req, o)));
  }

  private change(target: 'on' | 'off'): Promise<PowerState> {
    return this.serial(target, async () => {
      await this.attempt(target, (o) => this.driver.setPowerState(target, o));
      return this.pollUntil(target, target);
    });
  }

  private async serial<T>(action: string, fn: () => Promise<T>): Promise<T> {
    const queuedAt = Date.now();
    return this.queue.run(this.driver.bmcKey, async () => {
      const started = Date.now();
      try {
        const result = await fn();
        this.log.info({ action, waitedMs: started - queuedAt, ms: Date.now() - started }, 'power %s done', action);
        this.opts.metrics?.observe(this.driver.kind, action, 'ok', (Date.now() - started) / 1000);
        this.opts.onNote?.({ machine: this.opts.machine, driver: this.driver.kind, action, outcome: 'ok' });
        return result;
      } catch (err) {
        const e = this.wrap(err, action);
        this.log.warn({ action, code: e.code, ms: Date.now() - started, err: e.message }, 'power %s failed', action);
        this.opts.metrics?.observe(this.driver.kind, action, 'failed', (Date.now() - started) / 1000);
        this.opts.onNote?.({ machine: this.opts.machine, driver: this.driver.kind, action, outcome: 'failed', detail: e.message });
        throw e;
      }
    });
  }

  /** One BMC call with its timeout, retried with backoff while the failure is transient. */
  private async attempt<T>(action: string, call: (o: CallOptions) => Promise<T>): Promise<T> {
    const delays = backoffDelays(this.retry);
    for (let i = 0; ; i++) {
      try {
        return await this.withTimeout(action, call);
      } catch (err) {
        const e = this.wrap(err, action);
        const delay = delays[i];
        if (!e.transient || delay === undefined) throw e;
        this.log.info({ action, attempt: i + 1, code: e.code, retryInMs: delay }, 'power %s: %s, retrying', action, e.code);
        this.opts.metrics?.observe(this.driver.kind, action, 'retry');
        this.opts.onNote?.({ machine: this.opts.machine, driver: this.driver.kind, action, outcome: 'retry', attempt: i + 1, detail: e.message });
        await this.sleep(delay);
      }
    }
  }

  private async withTimeout<T>(action: string, call: (o: CallOptions) => Promise<T>): Promise<T> {
    const timeout = this.opts.callTimeout ?? 20_000;
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // The driver gets the bound and a signal; the race is the backstop for one that ignores both.
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        reject(new PowerError('TIMEOUT', this.opts.machine, action, `no answer within ${timeout} ms`));
      }, timeout);
    });
    try {
      return await Promise.race([call({ timeout, signal: ac.signal }), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async pollUntil(target: 'on' | 'off', action: string): Promise<PowerState> {
    if (!this.driver.capabilities.readsState) return 'unknown';
    const interval = this.opts.poll?.interval ?? 1000;
    const limit = this.opts.poll?.timeout ?? 60_000;
    const start = Date.now();
    let slept = 0;
    let last: PowerState = 'unknown';
    for (;;) {
      last = await this.attempt('status', (o) => this.driver.getPowerState(o));
      if (last === target) return last;
      // Slept time counts too, so a test's instant sleep still reaches the bound.
      if (Math.max(Date.now() - start, slept) + interval > limit) break;
      await this.sleep(interval);
      slept += interval;
    }
    throw new PowerError('TIMEOUT', this.opts.machine, action, `asked for ${target}, still ${last} after ${limit} ms`);
  }

  private wrap(err: unknown, action: string): PowerError {
    if (isPowerError(err)) return err;
    const msg = err instanceof Error ? err.message : String(err);
    return new PowerError('BMC_ERROR', this.opts.machine, action, msg);
  }
}
