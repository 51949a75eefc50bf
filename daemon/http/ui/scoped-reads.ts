// What a signed-in principal may read, through the API's own scoping (api/scope.ts, api/views.ts,
// api/events.ts): a tenant sees only its own machines, its allocations' events, and no BMC detail.
import type { ApiContext } from '../api/context.js';
import type { Principal } from '../api/tokens.js';
import { isTenant, visibleMachine } from '../api/scope.js';
import { ownEvents } from '../api/events.js';
import { redactBmc } from '../api/views.js';
import type { EventRecord, MachineRecord } from '../../core/store/types.js';

/** The machine as the principal may see it (its last error without BMC detail for a tenant); 404 otherwise. */
export async function machineFor(ctx: ApiContext, p: Principal, name: string): Promise<MachineRecord> {
  const m = await visibleMachine(ctx.store, p, name);
  return isTenant(p) ? { ...m, lastError: redactBmc(m.lastError, m.power) } : m;
}

/** The latest events (newest first), of one machine or all, as the principal may see them. */
export async function eventsFor(ctx: ApiContext, p: Principal, opts: { machine?: string; limit: number }): Promise<EventRecord[]> {
  const events = await ctx.store.listEvents({ machine: opts.machine, limit: opts.limit });
  const seen = isTenant(p) ? await ownEvents(ctx.store, p.owner, events) : events;
  return seen.reverse();
}
