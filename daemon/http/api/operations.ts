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
import { agentLogPath, mergeOplog, parseAgentLines, type OplogEntry } from '../../core/oplog.js';
import type { OperationRecord } from '../../core/store/types.js';
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
    res.json({ operation: operationView(op), entries: await operationLog(ctx, op) });
  });
  return router;
}

/** One operation's log: the events recorded while it ran merged with the agent's own lines (the API's and the dashboard's). */
export async function operationLog(ctx: Pick<ApiContext, 'store' | 'stateDir'>, op: OperationRecord): Promise<OplogEntry[]> {
  const events = await ctx.store.listEvents({ machine: op.machine, since: op.createdAt, limit: 10_000 });
  let agent = '';
  try {
    agent = await readFile(agentLogPath(ctx.stateDir, op.machine, op.id), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return mergeOplog(op, events, parseAgentLines(agent));
}
