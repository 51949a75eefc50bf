// /api/v1/events: the event log, filtered by machine and time; `after` reads forward from an id,
// and with `wait` the request is held until there is something after it (event-wait.ts): the
// CLI's --follow and --wait long-poll with it.
import { Router } from 'express';
import { z } from 'zod';
import { parseInput } from '../validate.js';
import type { ApiContext } from './context.js';
import { isTenant } from './scope.js';
import type { EventRecord, Store } from '../../core/store/types.js';
import { tenantEventView } from './views.js';
import { DEFAULT_MAX_HELD, eventWaiter, MAX_WAIT_S } from './event-wait.js';

const eventsQuery = z.strictObject({
  machine: z.string().min(1).optional(),
  since: z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'not a date/time (ISO 8601)' }).optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(10000).optional(),
  /** Seconds to hold the request while nothing after `after` exists yet. */
  wait: z.coerce.number().min(0).max(MAX_WAIT_S).optional(),
}).refine((q) => q.wait === undefined || q.after !== undefined, { error: 'wait needs after (the last event id you have)', path: ['wait'] });

export function eventsRouter(ctx: ApiContext): Router {
  const router = Router();
  const readOrWait = eventWaiter(ctx.eventFeed, ctx.maxHeldEventReads ?? DEFAULT_MAX_HELD, ctx.registry);
  router.get('/', async (req, res) => {
    const q = parseInput(eventsQuery, req.query, 'query');
    const p = req.principal!;
    const read = async () => {
      const events = await ctx.store.listEvents({
        machine: q.machine, afterId: q.after, limit: q.limit,
        since: q.since === undefined ? undefined : new Date(q.since).toISOString(),
      });
      return isTenant(p) ? ownEvents(ctx.store, p.owner, events) : events;
    };
    if (!q.wait) return void res.json({ events: await read() });
    // 'close' before the answer is written: the client went away; stop holding for it.
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const events = await readOrWait(read, { after: q.after!, waitMs: q.wait * 1000, signal: gone.signal });
    if (!gone.signal.aborted) res.json({ events });
  });
  return router;
}

/**
 * A tenant's view of the log: events about its allocations, and events of its machines while its
 * allocations held them. A machine's life before and after (other tenants, the pool) stays hidden.
 */
export async function ownEvents(store: Store, owner: string, events: EventRecord[]): Promise<EventRecord[]> {
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
