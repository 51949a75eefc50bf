// /api/v1/events: the event log, filtered by machine and time; `after` reads forward from an id
// (the CLI's --follow polls with it).
import { Router } from 'express';
import { z } from 'zod';
import { parseInput } from './validate.js';
import type { ApiContext } from './app.js';

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
    res.json({ events });
  });
  return router;
}
