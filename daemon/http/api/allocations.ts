// /api/v1/allocations: machines on demand (SPEC §2b). POST chooses, allocates and deploys; GET
// lists and shows; DELETE releases. A tenant token acts for its own owner only and sees only its
// own allocations (another tenant's is 404); admins see and release all.
import { Router } from 'express';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { parseInput } from '../validate.js';
import { isTenant, mayAct } from './scope.js';
import { actorOf, type Principal } from './tokens.js';
import type { ApiContext } from './context.js';
import {
  allocateMachines, derivedState, machinesOf, releaseAllocation,
  type AllocateDeps,
} from '../../core/allocate.js';
import type { AllocationRecord, AllocationState } from '../../core/store/types.js';
import { redactBmc } from './views.js';

export const ownerName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { error: 'letters, digits, . _ - (up to 63), starting with a letter or digit' });

const allocateBody = z.strictObject({
  owner: ownerName.optional(),
  profile: z.string().min(1),
  constraints: z.strictObject({
    cpus: z.number().int().min(1).optional(),
    memory_gib: z.number().positive().optional(),
    disk_gib: z.number().positive().optional(),
    arch: z.string().min(1).max(32).optional(),
    tags: z.array(z.string().min(1).max(64)).max(32).optional(),
  }).default({}),
  count: z.number().int().min(1).max(256).default(1),
});

const listQuery = z.strictObject({
  owner: ownerName.optional(),
  state: z.enum(['active', 'released']).optional(),
});

export type AllocationView = Awaited<ReturnType<typeof allocationView>>;

const depsOf = (ctx: ApiContext): AllocateDeps => ({
  store: ctx.store,
  transitions: ctx.transitions,
  warn: (msg, err) => ctx.logger.warn({ err }, msg),
});

/** The allocation if the principal may see it; another owner's is "not found". */
export async function visibleAllocation(ctx: ApiContext, p: Principal, id: string): Promise<AllocationRecord> {
  const a = await ctx.store.getAllocation(id);
  if (!a || (isTenant(p) && a.owner !== p.owner)) throw new ApiError('NOT_FOUND', `no allocation ${id}`);
  return a;
}

export async function allocationView(ctx: ApiContext, a: AllocationRecord) {
  const machines = await machinesOf(ctx.store, a);
  return {
    id: a.id, owner: a.owner, profile: a.profile, constraints: a.constraints, count: a.machines.length,
    state: derivedState(a, machines), record_state: a.state, actor: a.actor,
    created_at: a.createdAt, released_at: a.releasedAt,
    // A machine this allocation no longer holds shows only as released: what it does now is
    // another owner's business.
    machines: machines.map(({ machine: m, held }) => ({
      name: m.name, hostname: m.hostname, ip: m.ip ?? m.bootFacts?.ip ?? null,
      // What tenants read: no BMC detail in an error (an admin finds it in the machine's view).
      state: held ? m.state : 'released', last_error: held ? redactBmc(m.lastError, m.power) : null,
    })),
  };
}

/**
 * POST /api/v1/allocations's rule, for the API and the dashboard alike: `input` is the request
 * body as sent (validated here); a tenant allocates for its own owner only, an admin for a named one.
 */
export async function allocateFor(ctx: ApiContext, p: Principal, input: unknown): Promise<AllocationRecord> {
  mayAct(p);
  const body = parseInput(allocateBody, input, 'body');
  const owner = isTenant(p) ? (body.owner ?? p.owner) : body.owner;
  if (!owner) throw new ApiError('BAD_REQUEST', 'body.owner: an admin token allocates for a named owner', { field: 'body.owner' });
  if (isTenant(p) && owner !== p.owner) {
    throw new ApiError('FORBIDDEN', `token ${p.name} allocates for owner ${p.owner} only, not ${owner}`);
  }
  if (!(body.profile in ctx.inventory().inventory.profiles)) {
    throw new ApiError('BAD_REQUEST', `body.profile: no profile named ${body.profile}`, { field: 'body.profile' });
  }
  const { allocation } = await allocateMachines(depsOf(ctx), { owner, profile: body.profile, constraints: body.constraints, count: body.count, actor: actorOf(p) });
  ctx.logger.info({ allocation: allocation.id, owner, machines: allocation.machines }, `allocated ${allocation.machines.join(', ')} to ${owner}`);
  return allocation;
}

/** The allocations the principal may list (a tenant: its own only, whatever owner it asks for). */
export async function allocationsFor(ctx: ApiContext, p: Principal, q: { owner?: string; state?: AllocationState }): Promise<AllocationRecord[]> {
  // A tenant asking for another owner's list gets its own filter applied: an empty answer.
  if (isTenant(p) && q.owner !== undefined && q.owner !== p.owner) return [];
  return ctx.store.listAllocations({ owner: isTenant(p) ? p.owner : q.owner, state: q.state });
}

/** DELETE /api/v1/allocations/ID's rule: the allocation as the principal may see it, released. */
export async function releaseFor(ctx: ApiContext, p: Principal, id: string): Promise<AllocationRecord> {
  const a = await visibleAllocation(ctx, p, id);
  mayAct(p);
  const released = await releaseAllocation(depsOf(ctx), a, actorOf(p));
  ctx.logger.info({ allocation: a.id, owner: a.owner, machines: released.map((m) => m.name) }, `released ${a.id}`);
  return (await ctx.store.getAllocation(a.id))!;
}

export function allocationsRouter(ctx: ApiContext): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    res.status(201).json({ allocation: await allocationView(ctx, await allocateFor(ctx, req.principal!, req.body)) });
  });

  router.get('/', async (req, res) => {
    const list = await allocationsFor(ctx, req.principal!, parseInput(listQuery, req.query, 'query'));
    res.json({ allocations: await Promise.all(list.map((a) => allocationView(ctx, a))) });
  });

  router.get('/:id', async (req, res) => {
    res.json({ allocation: await allocationView(ctx, await visibleAllocation(ctx, req.principal!, req.params.id)) });
  });

  router.delete('/:id', async (req, res) => {
    res.json({ allocation: await allocationView(ctx, await releaseFor(ctx, req.principal!, req.params.id)) });
  });
  return router;
}
