// /api/v1/events: the event log, filtered by machine and time; `after` reads forward from an id
// (the CLI's --follow polls with it).
import { Router } from 'express';
import { z } from 'zod';
import { parseInput } from '../validate.js';
import type { ApiContext } from './context.js';
import { isTenant } from './scope.js';
import type { EventRecord, Store } from '../../core/store/types.js';
import { tenantEventView } from './views.js';

const eventsQuery = z.strictObject({
  machine: z.string().min(1).optional(),
  since: z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'not a date/time (ISO 8601)' }).optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10000).optional(),
});

export function eventsRouter(ctx: ApiContext): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const q = parseInput(eventsQuery, req.query, 'query');
    const events = await ctx.store.listEvents({
      machine: q.machine, afterId: q.after, limit: q.limit,
      since: q.since === undefined ? undefined : new Date(q.since).toISOString(),
    });
    const p = req.principal!;
    res.json({ events: isTenant(p) ? await ownEvents(ctx.store, p.owner, events) : events });
  });
  return router;
}

/**
 * A tenant's view of the log: events about its allocations, and events of its machines while its
 * allocations held them. A machine's life before and after (other tenants, the pool) stays hidden.
 */
async function ownEvents(store: Store, owner: string, events: EventRecord[]): Promise<EventRecord[]> {
  const allocations = await store.listAllocations({ owner });
  const ids = new Set(allocations.map((a) => a.id));
  // BMC details never reach a tenant, not even inside a power event's text.
  const powers = new Map((await store.listMachines({ includeRetired: true })).map((m) => [m.name, m.power]));
  return events.filter((e) => {
    if (typeof e.data?.allocation === 'string' && ids.has(e.data.allocation)) return true;
    if (!e.machine) return false;
    return allocations.some((a) => a.machines.includes(e.machine!) && e.time >= a.createdAt && (a.releasedAt === null || e.time <= a.releasedAt));
  }).map((e) => tenantEventView(e, e.machine ? powers.get(e.machine) : undefined));
}
