// /api/v1/machines/NAME/operations: the machine's operations (newest first) and, per operation,
// its log — the events recorded while it ran merged with the agent's own lines. Operators only:
// a machine's past operations may belong to an earlier tenant.
import { Router } from 'express';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { parseInput } from '../validate.js';
import { operatorOnly, visibleMachine } from './scope.js';
import type { ApiContext } from './context.js';
import { agentLogPath, mergeOplog, parseAgentLines } from '../../core/oplog.js';
import { operationView } from './views.js';

const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).optional() });

export function operationsRouter(ctx: ApiContext): Router {
  const router = Router({ mergeParams: true });

  router.get('/:name/operations', async (req, res) => {
    const m = await visibleMachine(ctx.store, req.principal!, req.params.name, { retired: true });
    operatorOnly(req.principal!, 'read operation history');
    const q = parseInput(listQuery, req.query, 'query');
    res.json({ operations: (await ctx.store.listOperations(m.name, q.limit ?? 50)).map(operationView) });
  });

  router.get('/:name/operations/:id/log', async (req, res) => {
    const m = await visibleMachine(ctx.store, req.principal!, req.params.name, { retired: true });
    operatorOnly(req.principal!, 'read operation logs');
    const op = req.params.id === 'latest' ? await ctx.store.latestOperation(m.name) : await ctx.store.getOperation(req.params.id);
    if (!op || op.machine !== m.name) throw new ApiError('NOT_FOUND', `${m.name} has no operation ${req.params.id}`);
    const events = await ctx.store.listEvents({ machine: m.name, since: op.createdAt, limit: 10_000 });
    let agent = '';
    try {
      agent = await readFile(agentLogPath(ctx.stateDir, m.name, op.id), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    res.json({ operation: operationView(op), entries: mergeOplog(op, events, parseAgentLines(agent)) });
  });
  return router;
}
