// What the lifecycle calls: a driver wrapped with the policy every driver shares. Calls to one
// BMC are serialized (the whole operation, poll included, so "on" then "off" cannot interleave);
// each BMC call has a timeout; transient failures (UNREACHABLE, TIMEOUT) of reads, and of
// changes that certainly never reached the BMC, are retried with exponential backoff. Others
// are not: AUTH_FAILED above all (retrying a wrong password can lock the account), and a power
// change whose answer was lost: the BMC may have acted, and a second PowerCycle in the middle
// of a boot is worse than a slow one. For those the state is read instead and decides. After
// on/off/cycle a task the BMC started is followed, then the state is polled until it matches,
// within a bound.
// A caller's signal (an API client that went away) takes a call out of the BMC queue while it
// waits; a running status read is aborted too (ipmitool killed, Redfish request dropped), but a
// running power change is never cut off halfway: that could leave a reset half-sent, then resent.
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { PowerError, isPowerError } from './errors.js';
import { bmcQueue, type KeyedQueue } from './queue.js';
import type { PowerMetrics } from './metrics.js';
import type { BootDeviceRequest, CallOptions, PowerChange, PowerDriver, PowerState } from './types.js';

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
  /** Bound of one BMC call (ms); the driver is given it, and cut off a little after it. */
  callTimeout?: number;
  /** State polling after a change: every `interval` ms, giving up after `timeout` ms. */
  poll?: { interval?: number; timeout?: number };
  /** Called for every completed operation and every retry: for events. Never carries a secret. */
  onNote?: (note: { machine: string; driver: string; action: string; outcome: 'ok' | 'retry' | 'unanswered' | 'failed'; detail?: string; attempt?: number }) => void;
  metrics?: PowerMetrics;
  /** Replaces setTimeout-based waiting (unit tests). */
  sleep?: (ms: number) => Promise<void>;
}

/** What a caller may pass to each call. */
export interface CallerOptions {
  /** Aborted when whoever asked is gone: dequeues a waiting call, aborts a running read. */
  signal?: AbortSignal;
}

/** How long after its own bound a driver call is cut off regardless. */
const CUTOFF_GRACE_MS = 2_000;

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

  /** The power state. A read only: the caller's signal also aborts it while it runs. */
  status(o: CallerOptions = {}): Promise<PowerState> {
    const signal = o.signal;
    return this.serial('status', signal, () => this.attempt('status', (c) => this.driver.getPowerState(c), signal));
  }

  on(o: CallerOptions = {}): Promise<PowerState> { return this.change('on', o); }
  off(o: CallerOptions = {}): Promise<PowerState> { return this.change('off', o); }

  /** Power cycle (or on when off), then wait until the machine is on again. */
  cycle(o: CallerOptions = {}): Promise<PowerState> {
    return this.serial('cycle', o.signal, async () => {
      if (!this.driver.capabilities.powerOff) {
        // wol: no way to turn a machine off, so a "cycle" can only be a wake-up.
        await this.attempt('on', (c) => this.driver.setPowerState('on', c));
        return 'unknown';
      }
      const sent = await this.attemptChange('cycle', (c) => this.driver.reboot(c));
      await this.followTask(sent, 'cycle');
      return this.pollUntil('on', 'cycle', sent.lost);
    });
  }

  /** A one-time boot device: dequeued if its caller leaves first, never cut off once sent. */
  setBootDevice(req: BootDeviceRequest, o: CallerOptions = {}): Promise<void> {
    return this.serial('boot-device', o.signal, () => this.attempt('boot-device', (c) => this.driver.setBootDevice(req, c)));
  }

  private change(target: 'on' | 'off', o: CallerOptions): Promise<PowerState> {
    return this.serial(target, o.signal, async () => {
      const sent = await this.attemptChange(target, (c) => this.driver.setPowerState(target, c));
      await this.followTask(sent, target);
      return this.pollUntil(target, target, sent.lost);
    });
  }

  /**
   * Runs fn in the BMC's queue. `signal` only ever dequeues here: whether a started call may be
   * aborted is decided by the caller passing it on to attempt() (reads) or not (changes).
   */
  private async serial<T>(action: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    const queuedAt = Date.now();
    let started = 0;
    try {
      return await this.queue.run(this.driver.bmcKey, async () => {
        started = Date.now();
        const result = await fn();
        this.log.info({ action, waitedMs: started - queuedAt, ms: Date.now() - started }, 'power %s done', action);
        this.opts.metrics?.observe(this.driver.kind, action, 'ok', (Date.now() - started) / 1000);
        this.opts.onNote?.({ machine: this.opts.machine, driver: this.driver.kind, action, outcome: 'ok' });
        return result;
      }, signal);
    } catch (err) {
      const e = !started && signal?.aborted ? this.cancelled(action, false) : this.wrap(err, action);
      const ms = started ? Date.now() - started : 0;
      if (e.code === 'CANCELLED') {
        // Not a BMC failure and not worth an event: an abandoned request must not write rows.
        this.log.debug({ action, waitedMs: (started || Date.now()) - queuedAt, ms }, 'power %s cancelled: %s', action, e.bmcMessage);
        this.opts.metrics?.observe(this.driver.kind, action, 'cancelled');
        throw e;
      }
      this.log.warn({ action, code: e.code, ms, err: e.message }, 'power %s failed', action);
      this.opts.metrics?.observe(this.driver.kind, action, 'failed', ms / 1000);
      this.opts.onNote?.({ machine: this.opts.machine, driver: this.driver.kind, action, outcome: 'failed', detail: e.message });
      throw e;
    }
  }

  private cancelled(action: string, started: boolean): PowerError {
    return new PowerError('CANCELLED', this.opts.machine, action, started ? 'aborted while running' : 'left the queue before it started');
  }

  /**
   * One BMC call with its timeout, retried with backoff while the failure is transient (and, for
   * a change, `mayRepeat`: it certainly never reached the BMC). With a signal (reads only) the
   * call is aborted when it fires, and no retry follows.
   */
  private async attempt<T>(action: string, call: (o: CallOptions) => Promise<T>, signal?: AbortSignal, mayRepeat: (e: PowerError) => boolean = () => true): Promise<T> {
    const delays = backoffDelays(this.retry);
    for (let i = 0; ; i++) {
      try {
        return await this.withTimeout(action, call, signal);
      } catch (err) {
        if (signal?.aborted) throw this.cancelled(action, true);
        const e = this.wrap(err, action);
        const delay = delays[i];
        if (!e.transient || !mayRepeat(e) || delay === undefined) throw e;
        this.log.info({ action, attempt: i + 1, code: e.code, retryInMs: delay }, 'power %s: %s, retrying', action, e.code);
        this.opts.metrics?.observe(this.driver.kind, action, 'retry');
        this.opts.onNote?.({ machine: this.opts.machine, driver: this.driver.kind, action, outcome: 'retry', attempt: i + 1, detail: e.message });
        await this.pause(delay, signal);
        if (signal?.aborted) throw this.cancelled(action, true);
      }
    }
  }

  /**
   * A power change, sent at most once to the BMC: retried (with backoff) only while its failure
   * says it certainly never got there. A lost answer is returned as `lost`, not thrown: whether
   * the BMC acted is for the state to tell.
   */
  private async attemptChange(action: string, call: (o: CallOptions) => Promise<PowerChange | void>): Promise<PowerChange & { lost?: PowerError }> {
    try {
      return (await this.attempt(action, call, undefined, (e) => e.notSent)) ?? {};
    } catch (err) {
      const e = this.wrap(err, action);
      if (!e.transient || e.notSent) throw e;
      this.log.warn({ action, code: e.code, err: e.message }, 'power %s: the answer was lost (%s); not sending it again, reading the power state instead', action, e.code);
      this.opts.metrics?.observe(this.driver.kind, action, 'unanswered');
      this.opts.onNote?.({ machine: this.opts.machine, driver: this.driver.kind, action, outcome: 'unanswered', detail: `${e.message}: not sent again; the power state decides` });
      return { lost: e };
    }
  }

  /** Follows a task the BMC started for a change until it ends (bounded as the state poll). */
  private async followTask(sent: PowerChange, action: string): Promise<void> {
    const task = sent.task;
    const readTask = this.driver.readTask?.bind(this.driver);
    if (!task || !readTask) return;
    const interval = this.opts.poll?.interval ?? 1000;
    const limit = this.opts.poll?.timeout ?? 60_000;
    const start = Date.now();
    let slept = 0;
    for (;;) {
      const p = await this.attempt('task', (o) => readTask(task, o));
      if (p.state === 'completed') return;
      if (p.state === 'failed') throw new PowerError('BMC_ERROR', this.opts.machine, action, `the BMC's task ${task.monitor} failed: ${p.message}`);
      if (Math.max(Date.now() - start, slept) + interval > limit) {
        throw new PowerError('TIMEOUT', this.opts.machine, action, `the BMC's task ${task.monitor} still running after ${limit} ms`);
      }
      await this.sleep(interval);
      slept += interval;
    }
  }

  /** The backoff sleep, cut short when the caller leaves. */
  private pause(ms: number, signal?: AbortSignal): Promise<void> {
    if (!signal) return this.sleep(ms);
    return new Promise<void>((resolve) => {
      const done = () => { signal.removeEventListener('abort', done); resolve(); };
      signal.addEventListener('abort', done, { once: true });
      void this.sleep(ms).then(done);
    });
  }

  private async withTimeout<T>(action: string, call: (o: CallOptions) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const timeout = this.opts.callTimeout ?? 20_000;
    // The driver works to `timeout`; the cut-off comes later, so a driver that keeps its bound
    // reports its own failure (with whether the request left) instead of this bare one.
    const cutoff = timeout + Math.min(CUTOFF_GRACE_MS, Math.ceil(timeout / 4));
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    // The driver gets the bound and a signal; the races are the backstop for one that ignores both.
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        reject(new PowerError('TIMEOUT', this.opts.machine, action, `no answer within ${cutoff} ms`));
      }, cutoff);
      if (signal) {
        onAbort = () => { ac.abort(); reject(this.cancelled(action, true)); };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    try {
      return await Promise.race([call({ timeout, signal: ac.signal }), expired]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** `lost`: the change's answer never came; if the state does not follow, that is the reason. */
  private async pollUntil(target: 'on' | 'off', action: string, lost?: PowerError): Promise<PowerState> {
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
    const why = lost ? `; the BMC never answered the request (${lost.bmcMessage || lost.code}) and it was not sent again` : '';
    throw new PowerError('TIMEOUT', this.opts.machine, action, `asked for ${target}, still ${last} after ${limit} ms${why}`);
  }

  private wrap(err: unknown, action: string): PowerError {
    if (isPowerError(err)) return err;
    const msg = err instanceof Error ? err.message : String(err);
    return new PowerError('BMC_ERROR', this.opts.machine, action, msg);
  }
}
