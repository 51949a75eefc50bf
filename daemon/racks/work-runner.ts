// Runs the durable work of the machines this daemon serves (WorkStore): claims a few items at a
// time, keeps each claim alive while its work runs, and finishes it. A daemon that dies stops
// extending its claims; they lapse and whoever serves those machines then (the rack's next
// daemon, or its standby) claims them again, with the step the first one reached.
import type { MachineRecord, OperationRecord, OperationStore, MachineStore, WorkRecord, WorkStore } from '../core/store/types.js';
import type { Logger } from '../log.js';
import { StoreUnavailable } from '../core/store/availability.js';

const MAX_ATTEMPTS = 5;

export interface WorkControl {
  /** Records how far the work got, before a step that must not run twice; false: the claim was lost. */
  step(name: string): Promise<boolean>;
}

/** Does one item; resolves with its outcome (failures included: they are the machine's to record). */
export type WorkHandler = (item: WorkRecord, machine: MachineRecord, op: OperationRecord, ctl: WorkControl) => Promise<string>;

export interface WorkRunnerOptions {
  store: WorkStore & Pick<MachineStore, 'getMachine'> & Pick<OperationStore, 'getOperation'>;
  daemon: string;
  /** The racks whose machines' work this daemon does now (null: machines with no rack). */
  racks: () => (string | null)[];
  handle: WorkHandler;
  logger: Logger;
  /** Seconds a claim lasts unless extended (extended at a third of it while the work runs). */
  leaseSeconds?: number;
  /** Items run at once. */
  concurrency?: number;
  /** How often to look for work without being woken (ms). */
  intervalMs?: number;
}

export class WorkRunner {
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private looking: Promise<void> | undefined;
  private again = false;
  private failing = false;
  private closed = false;
  private readonly lease: number;
  private readonly concurrency: number;

  constructor(private readonly o: WorkRunnerOptions) {
    this.lease = o.leaseSeconds ?? 30;
    this.concurrency = o.concurrency ?? 16;
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), this.o.intervalMs ?? 1000);
    this.timer.unref();
    this.wake();
  }

  /** Look for work now (a transition here just enqueued some). */
  wake(): void {
    if (this.closed) return;
    if (this.looking) { this.again = true; return; }
    this.looking = this.look().finally(() => {
      this.looking = undefined;
      if (this.again) { this.again = false; this.wake(); }
    });
  }

  private async look(): Promise<void> {
    const room = this.concurrency - this.running.size;
    if (room <= 0) return;
    let items: WorkRecord[];
    try {
      items = await this.o.store.claimWork({ racks: this.o.racks(), daemon: this.o.daemon, leaseSeconds: this.lease, limit: room });
      this.failing = false;
    } catch (err) {
      // The database being away is logged once by the store's watch (store-watch.ts), not here.
      if (!this.failing && !(err instanceof StoreUnavailable)) this.o.logger.warn({ error: (err as Error).message }, 'cannot claim work: retrying');
      this.failing = true;
      return;
    }
    for (const item of items) {
      const p = this.run(item).finally(() => { this.running.delete(p); this.wake(); });
      this.running.add(p);
    }
  }

  private async run(item: WorkRecord): Promise<void> {
    const { store, daemon } = this.o;
    const log = this.o.logger.child({ machine: item.machine, work: item.id, kind: item.kind });
    const keep = setInterval(() => {
      store.extendClaim(item.id, daemon, this.lease).then((held) => { if (!held) log.warn('work claim lost while running'); }, () => undefined);
    }, (this.lease * 1000) / 3);
    try {
      const [machine, op] = await Promise.all([store.getMachine(item.machine), store.getOperation(item.operation)]);
      // The machine moved on (another operation, or none): this work is about a past it left.
      const outcome = !machine || !op || op.state !== 'running' ? 'superseded'
        // Claimed again and again without finishing (each attempt died mid-way): stop; the
        // operation's timeout fails the machine with its reason.
        : item.attempts > MAX_ATTEMPTS ? `gave up after ${item.attempts - 1} attempts`
        : await this.o.handle(item, machine, op, { step: (name) => store.markWorkStep(item.id, daemon, name) });
      if (!(await store.finishWork(item.id, daemon, outcome))) log.warn({ outcome }, 'work done, but its claim had passed to another daemon');
    } catch (err) {
      // Left claimed: it lapses and is tried again (by us or whoever serves the machine then).
      log.error({ err }, 'work failed; it will be claimed again when its claim lapses');
    } finally {
      clearInterval(keep);
    }
  }

  /** Waits for the work under way (daemon shutdown, tests). */
  async idle(): Promise<void> {
    while (this.looking || this.running.size) await Promise.allSettled([this.looking, ...this.running]);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.idle();
  }
}
