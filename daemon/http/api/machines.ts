// /api/v1/machines: list, show, and lifecycle actions (POST …/actions/EVENT).
import { Router } from 'express';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { parseInput } from '../validate.js';
import { machineView, operationView, tenantEventView, tenantOperationView } from './views.js';
import type { ApiContext } from './context.js';
import { ALL_STATES, OPERATOR_EVENTS } from '../../core/lifecycle.js';
import { isOperatorEvent, machineAction } from './machine-actions.js';
import { isTenant, operatorOnly, visibleMachine } from './scope.js';
import { actorOf, type Principal } from './tokens.js';
import { machineTimeouts } from '../../core/timeouts.js';
import { forgetRefusal } from '../../core/forget.js';
import type { ForgottenMachine, MachineRecord } from '../../core/store/types.js';

const listQuery = z.strictObject({
  state: z.enum(ALL_STATES as [string, ...string[]]).optional(),
  include_retired: z.enum(['true', 'false']).optional(),
});

const actionBody = z.strictObject({
  reason: z.string().max(500).optional(),
  profile: z.string().min(1).optional(),
  owner: z.string().min(1).max(100).optional(),
});

export function machinesRouter(ctx: ApiContext): Router {
  const router = Router();
  const timeouts = (m: MachineRecord) => machineTimeouts(ctx.inventory().inventory, m);
  // A tenant's view carries no BMC detail (views.ts).
  const view = (m: MachineRecord, p: Principal) => machineView(m, { timeouts: timeouts(m), tenant: isTenant(p) });

  router.get('/', async (req, res) => {
    const q = parseInput(listQuery, req.query, 'query');
    const p = req.principal!;
    const machines = await ctx.store.listMachines({
      state: q.state as never, includeRetired: q.include_retired === 'true', owner: isTenant(p) ? p.owner : undefined,
    });
    res.json({ machines: machines.map((m) => view(m, p)) });
  });

  router.get('/:name', async (req, res) => {
    const m = await visibleMachine(ctx.store, req.principal!, req.params.name, { retired: true });
    const op = await ctx.store.latestOperation(m.name);
    const opView = op && (isTenant(req.principal!) ? tenantOperationView(op, m.power) : operationView(op));
    res.json({ machine: { ...view(m, req.principal!), operation: opView ?? null } });
  });

  router.post('/:name/actions/:event', async (req, res) => {
    const p = req.principal!;
    const event = req.params.event;
    // Refusals come in this order (unknown action, a tenant's scope, the body): machineAction checks again.
    if (!isOperatorEvent(event)) throw new ApiError('NOT_FOUND', `no action ${event}; actions: ${OPERATOR_EVENTS.join(', ')}`);
    if (isTenant(p)) {
      await visibleMachine(ctx.store, p, req.params.name);
      if (event !== 'release') operatorOnly(p, event);
    }
    const body = parseInput(actionBody, req.body, 'body');
    const result = await machineAction(ctx, p, req.params.name, event, body);
    res.json({ machine: view(result.machine, p), event: isTenant(p) ? tenantEventView(result.event, result.machine.power) : result.event });
  });
  // An operator accepts a discovered machine: from then on allocations may pick it.
  router.post('/:name/accept', async (req, res) => {
    const p = req.principal!;
    await visibleMachine(ctx.store, p, req.params.name);
    operatorOnly(p, 'accept machines');
    const r = await ctx.store.acceptMachine(req.params.name, actorOf(p));
    if (!r) throw new ApiError('NOT_FOUND', `no machine named ${req.params.name}`);
    if (r.accepted) ctx.logger.info({ machine: r.machine.name, actor: actorOf(p) }, `${r.machine.name} accepted: allocatable`);
    res.json({ machine: machineView(r.machine, { timeouts: timeouts(r.machine) }), changed: r.accepted });
  });

  // Forgetting discovered machines (core/forget.ts says which): the row is retired with its
  // history, its operation cancelled and its lease freed; the MAC may be discovered again later.
  const forgottenView = (f: ForgottenMachine) => ({
    name: f.machine.name, mac: f.machine.mac, state: f.machine.previousState, freed_lease: f.freedLease, cancelled_operation: f.cancelledOperation,
  });
  const letGo = async (macs: string[]) => {
    // The store is the truth; a DHCP server that missed this holds the address until it expires.
    try { await ctx.forgotten?.(macs); } catch (err) { ctx.logger.error({ err }, 'the DHCP server could not let go of forgotten machines'); }
  };
  router.post('/forget', async (req, res) => {
    operatorOnly(req.principal!, 'forget machines');
    const body = parseInput(forgetAllBody, req.body, 'body');
    const actor = actorOf(req.principal!);
    const done = await ctx.store.forgetPendingDiscovered(actor, body.reason ?? 'forgotten with every discovered machine awaiting acceptance', forgetRefusal);
    await letGo(done.map((f) => f.machine.mac));
    if (done.length) ctx.logger.info({ count: done.length, actor }, `forgot ${done.length} discovered machines that awaited acceptance`);
    res.json({ forgotten: done.map(forgottenView), count: done.length });
  });
  router.post('/:name/forget', async (req, res) => {
    const p = req.principal!;
    await visibleMachine(ctx.store, p, req.params.name);
    operatorOnly(p, 'forget machines');
    const body = parseInput(forgetOneBody, req.body, 'body');
    const r = await ctx.store.forgetDiscovered(req.params.name, actorOf(p), body.reason ?? 'forgotten by an operator', forgetRefusal);
    if (!r.ok) throw new ApiError(r.reason === 'not_found' ? 'NOT_FOUND' : 'CONFLICT', r.detail);
    await letGo([r.machine.mac]);
    ctx.logger.info({ machine: r.machine.name, actor: actorOf(p) }, `${r.machine.name} forgotten`);
    res.json({ machine: machineView(r.machine, { timeouts: timeouts(r.machine) }), forgotten: forgottenView(r) });
  });
  return router;
}

const forgetOneBody = z.strictObject({ reason: z.string().max(500).optional() });
/** `pending: true` is required: an empty body never forgets anything. */
const forgetAllBody = z.strictObject({ pending: z.literal(true), reason: z.string().max(500).optional() });
