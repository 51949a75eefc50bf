// The boot trace: what a machine's firmware, loader and agent asked of Rackhand over DHCP, TFTP and
// HTTP, and what each was answered (and why), newest last: the view that says why a machine did
// not boot. This module is the pure part: the entry, the bounds every value from the network
// passes, the redaction of boot secrets, and a bounded recorder that the servers' edges feed
// synchronously and that writes to the store in batches, off their hot paths.
//
// Trust (SPEC §2c): every string here may come from a hostile client (vendor class, user class,
// TFTP file name, URL path). It is kept as data, cut to a bound, and reaches a page only through
// the dashboard's html`` escaping. Only machines the store knows are traced: an entry whose sender
// resolves to no machine is dropped at the flush and counted, so a stranger grows nothing.

export const TRACE_KINDS = ['dhcp', 'tftp', 'http'] as const;
export type TraceKind = (typeof TRACE_KINDS)[number];

/** ok: answered as asked; refused: answered no (NAK, TFTP error, HTTP 4xx); no_answer: silence; error: it broke. */
export const TRACE_OUTCOMES = ['ok', 'refused', 'no_answer', 'error'] as const;
export type TraceOutcome = (typeof TRACE_OUTCOMES)[number];

export type TraceValue = string | number | boolean | null;

/** One step of a boot, as a server edge tells it. */
export interface NewTraceEntry {
  machine: string;
  kind: TraceKind;
  outcome: TraceOutcome;
  /** One line: what was asked and what was answered, e.g. `DISCOVER → OFFER 10.0.0.5`. */
  summary: string;
  /** The facts of the step (xid, arch, file, status, bytes, why…), each value bounded. */
  detail: Record<string, TraceValue>;
  /** The iPXE script (or GRUB config) handed out, its secrets redacted. */
  text?: string;
  /** ISO time; the recorder stamps it when absent. */
  at?: string;
}

export interface TraceEntry extends NewTraceEntry {
  id: number;
  at: string;
}

/** What a machine keeps: its latest entries only (the store prunes in the same write). */
export const TRACE_KEEP = 200;
export const FIELD_MAX = 200;
export const SUMMARY_MAX = 300;
export const TEXT_MAX = 16 * 1024;
export const DETAIL_FIELDS_MAX = 24;

const cut = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** An entry within its bounds: strings cut, at most DETAIL_FIELDS_MAX detail fields, numbers finite. */
export function boundEntry(e: NewTraceEntry): NewTraceEntry {
  const detail: Record<string, TraceValue> = {};
  for (const [k, v] of Object.entries(e.detail).slice(0, DETAIL_FIELDS_MAX)) {
    if (typeof v === 'string') detail[cut(k, 40)] = cut(v, FIELD_MAX);
    else if (typeof v === 'number') detail[cut(k, 40)] = Number.isFinite(v) ? v : null;
    else detail[cut(k, 40)] = v;
  }
  return {
    machine: e.machine, kind: e.kind, outcome: e.outcome, summary: cut(e.summary, SUMMARY_MAX), detail,
    ...(e.text !== undefined && { text: cut(e.text, TEXT_MAX) }), ...(e.at && { at: e.at }),
  };
}

// Boot secrets: the token in installer and cloud-init URLs (core/urls.ts puts it in the path), the
// agent's boot nonce on the kernel line, and any token= / nonce= argument or query.
const SECRET_PATHS = /(\/v1\/(?:nocloud|answer|phone-home|installer)\/)[^/?#\s"']+/gi;
const SECRET_ARGS = /((?:^|[\s?&;])[\w.-]*(?:nonce|token)=)[^\s&;"']+/gi;
// And whatever path a later route puts a token in: tokens and nonces are 24 random bytes in
// base64url (core/operation-plan.ts, http/boot-token.ts), so any path segment of exactly that
// shape is taken for one. A file name of that shape is redacted too: a safe mistake.
const TOKEN_SEGMENTS = /(\/)[A-Za-z0-9_-]{32}(?=[/?#\s"']|$)/g;
export const REDACTED = '[redacted]';

/** The text with every boot token and nonce replaced by [redacted]: what a trace may keep. */
export function redactSecrets(s: string): string {
  return s.replace(SECRET_PATHS, `$1${REDACTED}`).replace(SECRET_ARGS, `$1${REDACTED}`).replace(TOKEN_SEGMENTS, `$1${REDACTED}`);
}

/** The address a DHCP entry says this server acknowledged, and to which (known) machine, if it does. */
function acknowledgedAddress(p: PendingTrace): { address: string; machine: string } | undefined {
  const address = p.detail.address;
  return p.kind === 'dhcp' && p.machine && p.detail.answer === 'ACK' && typeof address === 'string' ? { address, machine: p.machine } : undefined;
}

/** An entry at an edge that does not know the machine yet: the recorder resolves its address. */
export type PendingTrace = Omit<NewTraceEntry, 'machine'> & { machine?: string; address?: string };

/** What an edge holds: one synchronous, constant-time call per step. */
export type TraceSink = (entry: PendingTrace) => void;

export type TraceDrop = 'unknown' | 'overflow' | 'write_failed';

export interface TraceRecorderOptions {
  /** Appends one batch to the store (one transaction; the store keeps TRACE_KEEP per machine). */
  write(entries: NewTraceEntry[]): Promise<void>;
  /** The machine that has this address on the provisioning network, as DHCP knows it; undefined: none. */
  resolveAddress(address: string): Promise<string | undefined>;
  /**
   * Told, before a batch's addresses are resolved, each address its DHCP entries say was just
   * acknowledged to a known machine: the resolver knows the lease without reading the store (in a
   * storm every new lease's first TFTP or HTTP step would otherwise miss it). This server's own
   * answer, not anything a client claimed.
   */
  learnAddress?(address: string, machine: string): void;
  /** Counts entries not kept, by why (a metric). */
  dropped?(reason: TraceDrop, n: number): void;
  /** How often pending entries are written (default 500 ms). */
  intervalMs?: number;
  /** Entries waiting at most (default 500: at most 1,000 written a second); more are dropped and counted. */
  maxPending?: number;
  /**
   * Entries per store write (default 100). SQLite writes block the event loop: a batch is written
   * in chunks with a turn of the loop between them, so a DHCP answer waits a few ms at most.
   */
  chunk?: number;
  now?: () => number;
}

/**
 * Collects entries in memory and writes them every intervalMs. record() never awaits, so a DHCP
 * answer or a TFTP block never waits on the store. What is pending when the process is killed
 * (-9, a crash) is lost: at most the last interval of trace, which is acceptable for a diagnostic
 * view (a clean close() flushes it).
 */
export class BootTraceRecorder {
  private pending: PendingTrace[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly max: number;
  private readonly now: () => number;

  constructor(private readonly opts: TraceRecorderOptions) {
    this.max = opts.maxPending ?? 500;
    this.now = opts.now ?? Date.now;
  }

  readonly record: TraceSink = (entry) => {
    if (!entry.machine && !entry.address) return this.opts.dropped?.('unknown', 1);
    if (this.pending.length >= this.max) return this.opts.dropped?.('overflow', 1);
    this.pending.push(entry.at ? entry : { ...entry, at: new Date(this.now()).toISOString() });
  };

  get size(): number { return this.pending.length; }

  start(): this {
    this.timer ??= setInterval(() => void this.flush(), this.opts.intervalMs ?? 500);
    this.timer.unref();
    return this;
  }

  /** Writes what is pending (one flush at a time; a call during one waits for it, then flushes again). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (!this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.write(batch).finally(() => { this.flushing = undefined; });
    await this.flushing;
  }

  private async write(batch: PendingTrace[]): Promise<void> {
    const byAddress = new Map<string, string | undefined>();
    const entries: NewTraceEntry[] = [];
    let unknown = 0;
    for (const p of batch) {
      const acked = acknowledgedAddress(p);
      if (acked) { byAddress.set(acked.address, acked.machine); this.opts.learnAddress?.(acked.address, acked.machine); }
    }
    for (const p of batch) {
      let machine = p.machine;
      if (!machine && p.address) {
        if (!byAddress.has(p.address)) byAddress.set(p.address, await this.opts.resolveAddress(p.address).catch(() => undefined));
        machine = byAddress.get(p.address);
      }
      if (!machine) { unknown++; continue; }
      const { address: _a, machine: _m, ...rest } = p;
      entries.push(boundEntry({ ...rest, machine }));
    }
    if (unknown) this.opts.dropped?.('unknown', unknown);
    const chunk = this.opts.chunk ?? 100;
    for (let i = 0; i < entries.length; i += chunk) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      const part = entries.slice(i, i + chunk);
      try {
        await this.opts.write(part);
      } catch {
        // The store away or failing: a diagnostic view loses these rather than holding memory.
        this.opts.dropped?.('write_failed', part.length);
      }
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
