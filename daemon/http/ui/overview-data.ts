// What the overview shows besides the counts and the latest events, read through the principal's
// scope: the failures of the last 24 h (machines that went to failed: when, from which state, why)
// and the work in flight (running operations: kind, step, bytes written of the total), and the
// counts per state, each read by a store query (never every machine). A tenant's
// come from its own machines and allocations only (api/events.ts ownEvents, which also strips BMC
// detail); the judging parts are pure, for the unit tests.
import type { ApiContext } from '../api/context.js';
import type { Principal } from '../api/tokens.js';
import { isTenant } from '../api/scope.js';
import { ownEvents } from '../api/events.js';
import { TRANSITIONAL } from '../../core/lifecycle.js';
import type { EventRecord, MachineRecord, OperationRecord, StateCounts } from '../../core/store/types.js';

/** Live machines per state as the principal may count them (a tenant: its own), by one grouped query. */
export const countsFor = (ctx: ApiContext, p: Principal): Promise<StateCounts> =>
  ctx.store.countByState({ scopeOwner: isTenant(p) ? p.owner : undefined });

export const FAILURE_WINDOW_MS = 24 * 60 * 60_000;
/** Events read back to find failures: the latest this many (a busier day is said to be cut). */
export const FAILURE_SCAN = 2000;
/** Running operations shown at most (the rest are counted). */
export const WORK_SHOWN = 50;

export interface Failure { id: number; machine: string; time: string; from: string | null; cause: string | null; actor: string }

/** The transitions into failed at or after `since`, newest first. */
export function failuresIn(events: EventRecord[], since: string): Failure[] {
  return events.filter((e) => e.kind === 'transition' && e.to === 'failed' && e.machine && e.time >= since)
    .sort((a, b) => b.id - a.id)
    .map((e) => ({ id: e.id, machine: e.machine!, time: e.time, from: e.from, cause: e.cause, actor: e.actor }));
}

export interface FailureReport { failures: Failure[]; since: string; /** Set when the events read did not reach back to `since`. */ readFrom?: string }

export async function failuresFor(ctx: ApiContext, p: Principal, now = Date.now()): Promise<FailureReport> {
  const since = new Date(now - FAILURE_WINDOW_MS).toISOString();
  const events = await ctx.store.listEvents({ limit: FAILURE_SCAN });
  const cut = events.length === FAILURE_SCAN && events[0]!.time > since ? events[0]!.time : undefined;
  const seen = isTenant(p) ? await ownEvents(ctx.store, p.owner, events) : events;
  return { failures: failuresIn(seen, since), since, ...(cut ? { readFrom: cut } : {}) };
}

export interface Work { machine: string; state: string; kind: string; step: string | null; bytes?: number; total?: number; started: string }

export function workOf(m: MachineRecord, op: OperationRecord): Work {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
  return { machine: m.name, state: m.state, kind: op.kind, step: op.step, bytes: num(op.progress?.bytes), total: num(op.progress?.total), started: op.createdAt };
}

/**
 * The running operations of the principal's machines in a transitional state, longest running
 * first; `more` is how many such machines were not read. The store picks them (one query per
 * transitional state, at most WORK_SHOWN rows each): no read of every machine.
 */
export async function workFor(ctx: ApiContext, p: Principal): Promise<{ work: Work[]; more: number }> {
  const scopeOwner = isTenant(p) ? p.owner : undefined;
  const pages = await Promise.all([...TRANSITIONAL].map((state) =>
    ctx.store.queryMachines({ state: { value: state, negated: false }, scopeOwner, sort: 'changed', dir: 'asc', limit: WORK_SHOWN })));
  const busy = pages.flatMap((pg) => pg.machines).sort((a, b) => (a.stateChangedAt < b.stateChangedAt ? -1 : 1));
  const total = pages.reduce((n, pg) => n + pg.total, 0);
  const work: Work[] = [];
  for (const m of busy.slice(0, WORK_SHOWN)) {
    const op = await ctx.store.activeOperation(m.name);
    if (op) work.push(workOf(m, op));
  }
  return { work, more: Math.max(0, total - WORK_SHOWN) };
}

/** "1.5 GiB of 4.0 GiB (37 %)": the text beside (and inside) a progress bar. */
export function progressText(w: Pick<Work, 'bytes' | 'total'>): string {
  if (w.bytes === undefined) return '';
  const gib = (n: number) => n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (!w.total) return `${gib(w.bytes)} written`;
  return `${gib(w.bytes)} of ${gib(w.total)} (${Math.min(100, Math.floor((100 * w.bytes) / w.total))} %)`;
}
