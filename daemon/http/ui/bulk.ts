// Bulk actions on the machines list: which machines a selection means (the rows ticked, or every
// machine matching a filter, resolved here on the server at the moment of asking, through the
// principal's scope and capped at BULK_CAP), which of them the action would skip and why, and
// the action itself, one machine at a time through the same code as a single machine's button
// (machineAction: one transition each; changePower for power), each with its own answer.
import { createHash } from 'node:crypto';
import type { ApiContext } from '../api/context.js';
import type { Principal } from '../api/tokens.js';
import { actorOf } from '../api/tokens.js';
import { isTenant } from '../api/scope.js';
import { ApiError } from '../errors.js';
import { domainError } from '../error-handler.js';
import { machineAction } from '../api/machine-actions.js';
import { changePower, type PowerAction } from '../api/power-change.js';
import { actionRefusal, UI_ACTIONS, type UiAction } from './machine-page.js';
import { machineQueryOf, parseFilter, type MachineFilter } from './filter.js';
import { machineFor } from './scoped-reads.js';
import type { MachineRecord } from '../../core/store/types.js';

/** The most machines one bulk action takes: a confirmation a person can read, a request that ends. */
export const BULK_CAP = 500;
/** Rows ticked at most (two pages' worth; the form parser takes 120 fields: routes.ts). */
export const MAX_TICKED = 100;
/** Power calls in flight at once for a bulk power action (each BMC is serialized anyway). */
const POWER_PARALLEL = 8;

export const BULK_ACTIONS = [...UI_ACTIONS, 'power_on', 'power_off', 'power_cycle'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];
export const isBulkAction = (a: unknown): a is BulkAction => (BULK_ACTIONS as readonly unknown[]).includes(a);
/** The actions a tenant is offered: it may only let go of its own machines. */
export const tenantActions: readonly BulkAction[] = ['release'];

export const BULK_LABELS: Record<BulkAction, string> = {
  inspect: 'Inspect', deploy: 'Deploy', release: 'Release', maintenance_on: 'Maintenance on', maintenance_off: 'Maintenance off',
  power_on: 'Power on', power_off: 'Power off', power_cycle: 'Power cycle',
};

/** What each action does, said before it is done. */
export const BULK_EFFECTS: Record<BulkAction, string> = {
  inspect: 'power-cycled into the agent, which reports their hardware facts',
  deploy: 'deployed with their profile: their disks are overwritten',
  release: 'released: deployed ones have their disks erased, then all return to the pool',
  maintenance_on: 'put into maintenance: Rackhand does nothing with them until it ends',
  maintenance_off: 'taken out of maintenance, back to the state each was in',
  power_on: 'powered on through their BMC', power_off: 'powered off through their BMC (hard off)',
  power_cycle: 'power-cycled through their BMC',
};

const powerOf = (a: BulkAction): PowerAction | undefined => (a.startsWith('power_') ? a.slice(6) as PowerAction : undefined);

/** Why this principal may not do `a` to this machine now, or undefined when it may. */
export function bulkRefusal(p: Principal, m: MachineRecord, a: BulkAction): string | undefined {
  if (!powerOf(a)) return actionRefusal(p, m, a as UiAction);
  if (p.role === 'readonly') return `token ${p.name} is read-only: it can look, not act`;
  if (isTenant(p)) return 'an operator\'s action: a tenant token may only release its machines';
  return undefined;
}

/** What a bulk form sent: the action and either the names ticked or the filter (as its query string). */
export interface BulkRequest {
  action: BulkAction;
  scope: 'selected' | 'filter';
  names: string[];
  filter: MachineFilter;
  /** The filter's query string, to carry on to the next form. */
  filterText: string;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string' && x !== '');

export function parseBulkRequest(body: Record<string, unknown> | undefined): BulkRequest {
  const b = body ?? {};
  if (!isBulkAction(b.action)) throw new ApiError('BAD_REQUEST', 'choose an action');
  const filterText = typeof b.filter === 'string' ? b.filter.slice(0, 2000) : '';
  const filter = parseFilter(Object.fromEntries(new URLSearchParams(filterText)));
  const scope = b.scope === 'filter' ? 'filter' : 'selected';
  const names = [...new Set(strings(b.machine))];
  if (scope === 'selected' && !names.length) throw new ApiError('BAD_REQUEST', 'no machine is ticked: tick some rows, or choose "all matching this filter"');
  if (names.length > MAX_TICKED) throw new ApiError('BAD_REQUEST', `${names.length} machines ticked: tick at most ${MAX_TICKED}, or act on all matching a filter`);
  return { action: b.action, scope, names, filter, filterText };
}

export interface Target { name: string; machine?: MachineRecord; skip?: string }

/**
 * The machines the request means, as this principal may see them, each with why it would be
 * skipped (if so). A filter matching more than BULK_CAP machines is refused: narrow it.
 */
export async function resolveTargets(ctx: ApiContext, p: Principal, r: BulkRequest): Promise<Target[]> {
  let machines: (MachineRecord | { name: string })[];
  if (r.scope === 'filter') {
    const found = await ctx.store.queryMachines(machineQueryOf({ ...r.filter, sort: 'name', dir: 'asc' }, p, { offset: 0, limit: BULK_CAP + 1 }));
    if (found.total > BULK_CAP) {
      throw new ApiError('CONFLICT', `this filter matches ${found.total} machines; a bulk action takes at most ${BULK_CAP} at once: narrow the filter (state, tag, owner…) and try again`);
    }
    machines = found.machines;
  } else {
    machines = await Promise.all(r.names.sort().map((name) => machineFor(ctx, p, name).catch((err: unknown) => {
      // Another tenant's machine and no machine at all look the same: nothing is learnt.
      if (err instanceof ApiError && err.code === 'NOT_FOUND') return { name };
      throw err;
    })));
  }
  return machines.map((m) => ('state' in m
    ? { name: m.name, machine: m, skip: bulkRefusal(p, m, r.action) }
    : { name: m.name, skip: 'not found' }));
}

/** Names what was confirmed: the apply step acts only if the selection still means the same machines. */
export function selectionDigest(action: BulkAction, targets: Target[]): string {
  const acting = targets.filter((t) => !t.skip).map((t) => t.name);
  return createHash('sha256').update(JSON.stringify([action, acting])).digest('base64url').slice(0, 22);
}

export interface Outcome { name: string; accepted: boolean; says: string }

async function actOn(ctx: ApiContext, p: Principal, t: Target, action: BulkAction): Promise<Outcome> {
  if (t.skip || !t.machine) return { name: t.name, accepted: false, says: t.skip ?? 'not found' };
  const power = powerOf(action);
  try {
    if (power) {
      const state = await changePower(ctx, t.machine, { action: power, actor: actorOf(p), via: 'the dashboard (bulk)' });
      return { name: t.name, accepted: true, says: `power ${power}: now ${state}` };
    }
    const r = await machineAction(ctx, p, t.name, action, {}, 'the dashboard (bulk)');
    return { name: t.name, accepted: true, says: `now ${r.machine.state}` };
  } catch (err) {
    const e = err instanceof ApiError ? err : domainError(err);
    if (e) return { name: t.name, accepted: false, says: e.message };
    // A fault of the daemon's own: logged in full; the page says only that it failed, and goes on.
    ctx.logger.warn({ err, machine: t.name, action }, 'a bulk action failed on one machine');
    return { name: t.name, accepted: false, says: 'failed: an internal error (logged)' };
  }
}

/** Does the action to every target not skipped, each on its own; the answers in the targets' order. */
export async function applyBulk(ctx: ApiContext, p: Principal, targets: Target[], action: BulkAction): Promise<Outcome[]> {
  const out: Outcome[] = new Array(targets.length);
  let next = 0;
  // Lifecycle actions one after another (each a transition); power a few at a time (BMC round trips).
  const lanes = powerOf(action) ? POWER_PARALLEL : 1;
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < targets.length) {
      const i = next++;
      out[i] = await actOn(ctx, p, targets[i]!, action);
    }
  }));
  return out;
}
