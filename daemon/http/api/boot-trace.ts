// GET /api/v1/machines/NAME/boot-trace: the machine's latest boot steps (DHCP exchanges, TFTP
// and HTTP fetches, the script it was handed), newest last (core/boot-trace.ts). Operators only,
// as operation logs are: a machine's past boots may belong to an earlier tenant. A tenant asking
// about its own machine is refused (403), about another's told nothing (404), as operations do.
import { Router } from 'express';
import { z } from 'zod';
import { parseInput } from '../validate.js';
import { operatorOnly, visibleMachine } from './scope.js';
import type { ApiContext } from './context.js';
import { TRACE_KEEP, type TraceEntry } from '../../core/boot-trace.js';

const query = z.strictObject({ limit: z.coerce.number().int().min(1).max(TRACE_KEEP).optional() });

export const traceView = (e: TraceEntry) => ({
  id: e.id, at: e.at, kind: e.kind, outcome: e.outcome, summary: e.summary, detail: e.detail, ...(e.text !== undefined && { text: e.text }),
});

export function bootTraceRouter(ctx: ApiContext): Router {
  const router = Router({ mergeParams: true });
  router.get('/:name/boot-trace', async (req, res) => {
    const m = await visibleMachine(ctx.store, req.principal!, req.params.name, { retired: true });
    operatorOnly(req.principal!, 'read boot traces');
    const q = parseInput(query, req.query, 'query');
    res.json({ machine: m.name, entries: (await ctx.store.listBootTrace(m.name, q.limit ?? TRACE_KEEP)).map(traceView) });
  });
  return router;
}
