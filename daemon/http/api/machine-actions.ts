// A lifecycle action on one machine (inspect, deploy, release, …) as a principal asks for it: the
// checks (a tenant only releases its own machine; deploy needs a known profile; allocate an owner
// and an accepted machine) and then the one transition. The API's POST …/actions/EVENT and the
// dashboard's buttons (http/ui/) both come through here, so they refuse and act alike.
import { ApiError } from '../errors.js';
import type { ApiContext } from './context.js';
import { OPERATOR_EVENTS, type OperatorEvent } from '../../core/lifecycle.js';
import { isTenant, operatorOnly, visibleMachine } from './scope.js';
import { actorOf, type Principal } from './tokens.js';
import type { Transitioned } from '../../core/store/types.js';

export interface ActionBody {
  reason?: string;
  profile?: string;
  owner?: string;
}

export const isOperatorEvent = (e: string): e is OperatorEvent => (OPERATOR_EVENTS as readonly string[]).includes(e);

export async function machineAction(ctx: ApiContext, p: Principal, name: string, event: string, body: ActionBody, via = 'the API'): Promise<Transitioned> {
  if (!isOperatorEvent(event)) throw new ApiError('NOT_FOUND', `no action ${event}; actions: ${OPERATOR_EVENTS.join(', ')}`);
  if (p.role === 'readonly') throw new ApiError('FORBIDDEN', `token ${p.name} is read-only`);
  let data: Record<string, unknown> | undefined;
  if (isTenant(p)) {
    // A tenant may only let go of its own machine; everything else is an operator's.
    await visibleMachine(ctx.store, p, name);
    if (event !== 'release') operatorOnly(p, event);
    const allocation = (await ctx.store.allocationsOfMachine(name, p.owner))[0];
    data = { owner: p.owner, ...(allocation ? { allocation: allocation.id } : {}) };
  }
  const inventory = ctx.inventory().inventory;
  let deployProfile: string | undefined;
  if (event === 'deploy' || event === 'reimage') {
    const current = await ctx.store.getMachine(name);
    deployProfile = body.profile ?? current?.deployProfile ?? current?.profile ?? undefined;
    if (current && !deployProfile) throw new ApiError('BAD_REQUEST', 'body.profile: the machine has no profile; name one', { field: 'body.profile' });
  } else if (body.profile !== undefined) {
    throw new ApiError('BAD_REQUEST', `body.profile: only deploy and reimage take a profile`, { field: 'body.profile' });
  }
  if (deployProfile !== undefined && !(deployProfile in inventory.profiles)) {
    throw new ApiError('BAD_REQUEST', `body.profile: no profile named ${deployProfile}`, { field: 'body.profile' });
  }
  if (event === 'allocate' && !body.owner) throw new ApiError('BAD_REQUEST', 'body.owner: allocate needs an owner', { field: 'body.owner' });
  if (event === 'allocate') await mustBeAccepted(ctx, name);
  return ctx.transitions.apply({
    machine: name, event, actor: actorOf(p), ownedBy: isTenant(p) ? p.owner : undefined,
    reason: body.reason, owner: body.owner, cause: body.reason ?? `${event} requested through ${via}`,
    deployProfile, data: deployProfile ? { profile: deployProfile, ...data } : data,
  });
}

async function mustBeAccepted(ctx: ApiContext, name: string): Promise<void> {
  const m = await ctx.store.getMachine(name);
  if (m && !m.accepted) throw new ApiError('CONFLICT', `${name} was discovered on the network and no operator has accepted it: rackhand accept ${name} first`);
}
