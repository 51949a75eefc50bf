// /api/v1/allocations: machines on demand (SPEC §2b). POST chooses, allocates and deploys; GET
// lists and shows; DELETE releases. A tenant token acts for its own owner only and sees only its
// own allocations (another tenant's is 404); admins see and release all.
import { Router } from 'express';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { parseInput } from '../validate.js';
import { isTenant } from './scope.js';
import { actorOf, type Principal } from './tokens.js';
import type { ApiContext } from './context.js';
import {
  allocateMachines, derivedState, machinesOf, releaseAllocation,
  type AllocateDeps,
} from '../../core/allocate.js';
import type { AllocationRecord } from '../../core/store/types.js';
import { redactBmc } from './views.js';

const ownerName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { error: 'letters, digits, . _ - (up to 63), starting with a letter or digit' });

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

export function allocationsRouter(ctx: ApiContext): Router {
  const router = Router();
  const deps: AllocateDeps = {
    store: ctx.store,
    transitions: ctx.transitions,
    warn: (msg, err) => ctx.logger.warn({ err }, msg),
  };

  /** The allocation if the principal may see it; another owner's is "not found". */
  const visible = async (p: Principal, id: string): Promise<AllocationRecord> => {
    const a = await ctx.store.getAllocation(id);
    if (!a || (isTenant(p) && a.owner !== p.owner)) throw new ApiError('NOT_FOUND', `no allocation ${id}`);
    return a;
  };
  const view = async (a: AllocationRecord) => {
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
  };

  router.post('/', async (req, res) => {
    const p = req.principal!;
    const body = parseInput(allocateBody, req.body, 'body');
    const owner = isTenant(p) ? (body.owner ?? p.owner) : body.owner;
    if (!owner) throw new ApiError('BAD_REQUEST', 'body.owner: an admin token allocates for a named owner', { field: 'body.owner' });
    if (isTenant(p) && owner !== p.owner) {
      throw new ApiError('FORBIDDEN', `token ${p.name} allocates for owner ${p.owner} only, not ${owner}`);
    }
    if (!(body.profile in ctx.inventory().inventory.profiles)) {
      throw new ApiError('BAD_REQUEST', `body.profile: no profile named ${body.profile}`, { field: 'body.profile' });
    }
    const { allocation } = await allocateMachines(deps, { owner, profile: body.profile, constraints: body.constraints, count: body.count, actor: actorOf(p) });
    ctx.logger.info({ allocation: allocation.id, owner, machines: allocation.machines }, `allocated ${allocation.machines.join(', ')} to ${owner}`);
    res.status(201).json({ allocation: await view(allocation) });
  });

  router.get('/', async (req, res) => {
    const p = req.principal!;
    const q = parseInput(listQuery, req.query, 'query');
    const owner = isTenant(p) ? p.owner : q.owner;
    // A tenant asking for another owner's list gets its own filter applied: an empty answer.
    if (isTenant(p) && q.owner !== undefined && q.owner !== p.owner) return void res.json({ allocations: [] });
    const list = await ctx.store.listAllocations({ owner, state: q.state });
    res.json({ allocations: await Promise.all(list.map(view)) });
  });

  router.get('/:id', async (req, res) => {
    res.json({ allocation: await view(await visible(req.principal!, req.params.id)) });
  });

  router.delete('/:id', async (req, res) => {
    const p = req.principal!;
    const a = await visible(p, req.params.id);
    const released = await releaseAllocation(deps, a, actorOf(p));
    ctx.logger.info({ allocation: a.id, owner: a.owner, machines: released.map((m) => m.name) }, `released ${a.id}`);
    res.json({ allocation: await view((await ctx.store.getAllocation(a.id))!) });
  });
  return router;
}
