// The gate in front of discovery: a DHCP exchange may enrol an unknown PXE client only within
// site.discovery's limits — per_minute new machines (a token bucket whose burst is the same
// number) and max_pending machines awaiting an operator's acceptance. A client over the limit is
// refused (the caller counts the drop by reason); the refusals are told once per interval, as one
// summary with counts, never a line or a row per packet (a flood of spoofed MACs is thousands a
// second).

export type Refusal = 'discovery_rate' | 'discovery_cap';

export interface RefusalSummary {
  /** Refusals since the previous summary, by reason. */
  counts: Record<Refusal, number>;
  /** The last refused MAC (one example, for the operator's eye). */
  lastMac: string;
  /** Milliseconds the summary covers at most. */
  intervalMs: number;
}

export interface EnrolGateOptions {
  perMinute: number;
  maxPending: number;
  /** Discovered machines not yet accepted, now (asked only when a token is available). */
  countPending: () => Promise<number>;
  /** Called at most once per `intervalMs`, with what was refused since the last call. */
  onRefusals: (s: RefusalSummary) => void;
  intervalMs?: number;
  now?: () => number;
}

export class EnrolGate {
  private tokens: number;
  private refilledAt: number;
  /** Enrolments run one at a time, so two packets cannot both take the last pending place. */
  private queue: Promise<unknown> = Promise.resolve();
  private counts: Record<Refusal, number> = { discovery_rate: 0, discovery_cap: 0 };
  private lastMac = '';
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: EnrolGateOptions) {
    this.now = opts.now ?? Date.now;
    this.intervalMs = opts.intervalMs ?? 60_000;
    this.tokens = opts.perMinute;
    this.refilledAt = this.now();
  }

  /**
   * Runs `enrol` if the limits allow a new machine for `mac`; otherwise the reason it was refused.
   * The rate is checked without waiting, so a flood costs no store query per packet.
   */
  async admit<T>(mac: string, enrol: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; reason: Refusal; detail: string }> {
    this.refill();
    if (this.tokens < 1) return this.refuse(mac, 'discovery_rate', `more than ${this.opts.perMinute} new machines a minute (site.discovery.per_minute)`);
    this.tokens -= 1;
    const turn = this.queue.then(async () => {
      const pending = await this.opts.countPending();
      if (pending >= this.opts.maxPending) {
        return this.refuse(mac, 'discovery_cap', `${pending} discovered machines await acceptance (site.discovery.max_pending ${this.opts.maxPending})`);
      }
      return { ok: true as const, value: await enrol() };
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private refill(): void {
    const t = this.now();
    const per = this.opts.perMinute;
    this.tokens = Math.min(per, this.tokens + ((t - this.refilledAt) * per) / 60_000);
    this.refilledAt = t;
  }

  private refuse(mac: string, reason: Refusal, detail: string): { ok: false; reason: Refusal; detail: string } {
    this.counts[reason]++;
    this.lastMac = mac;
    // The first refusal after a quiet interval is told at once; the rest wait for the interval.
    if (!this.timer) {
      this.flush();
      this.arm();
    }
    return { ok: false, reason, detail };
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.counts.discovery_rate + this.counts.discovery_cap > 0) {
        this.flush();
        this.arm();
      }
    }, this.intervalMs);
    this.timer.unref();
  }

  private flush(): void {
    this.opts.onRefusals({ counts: { ...this.counts }, lastMac: this.lastMac, intervalMs: this.intervalMs });
    this.counts = { discovery_rate: 0, discovery_cap: 0 };
  }
}
