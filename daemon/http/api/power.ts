// /api/v1/machines/NAME/power: the machine's power state through its BMC (GET), and power
// actions (POST {action: on|off|cycle, boot_device?: pxe|disk}). Each action is an event.
// Reads by tenants and read-only tokens come from a short shared cache (power/status-cache.ts),
// so they cannot queue BMC logins in front of an operator; admins read the BMC itself unless
// they ask for ?fresh=false. A client that hangs up takes its BMC call with it (dequeued, or
// aborted if it is a read already running); a power change already sent to the BMC finishes.
import { Router, type Response } from 'express';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { parseInput } from '../validate.js';
import type { ApiContext } from './context.js';
import { PowerStatusCache } from '../../power/status-cache.js';
import type { MachineRecord } from '../../core/store/types.js';
import type { Principal } from './tokens.js';

const powerBody = z.strictObject({
  action: z.enum(['on', 'off', 'cycle']),
  boot_device: z.enum(['pxe', 'disk']).optional(),
});

const powerQuery = z.object({ fresh: z.enum(['true', 'false']).optional() });

/** Aborts when the client goes away before its answer was written. */
export function clientGone(res: Response): AbortSignal {
  const ac = new AbortController();
  res.once('close', () => { if (!res.writableFinished) ac.abort(); });
  return ac.signal;
}

/** One status cache per daemon context: the API and the dashboard read through the same one. */
const caches = new WeakMap<ApiContext, PowerStatusCache>();
export const powerCacheOf = (ctx: ApiContext): PowerStatusCache => {
  let c = caches.get(ctx);
  if (!c) { c = new PowerStatusCache(); caches.set(ctx, c); }
  return c;
};

async function liveMachine(ctx: ApiContext, name: string): Promise<MachineRecord> {
  const m = await ctx.store.getMachine(name);
  if (!m || m.retiredAt) throw new ApiError('NOT_FOUND', `no machine named ${name}`);
  return m;
}

/** Undefined when the caller went away meanwhile (nobody is left to answer, and it is no error worth a log line). */
async function bmc<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (signal.aborted) return undefined;
    throw err;
  }
}

export interface PowerRead { machine: string; driver: string; state: string; read_at: string; cached: boolean }

/**
 * The machine's power state as `principal` may read it: admins from the BMC (unless fresh is
 * false), everyone else from the shared cache. The API's GET and the dashboard's button both come here.
 */
export async function readPower(ctx: ApiContext, principal: Principal, name: string, o: { fresh?: boolean; signal: AbortSignal }): Promise<PowerRead | undefined> {
  const admin = principal.role === 'admin';
  if (o.fresh === true && !admin) {
    throw new ApiError('FORBIDDEN', `token ${principal.name} may read power state only from the cache; fresh=true is for admin tokens`, { field: 'fresh' });
  }
  const m = await liveMachine(ctx, name);
  const power = ctx.power(m);
  const cache = powerCacheOf(ctx);
  const fresh = admin && o.fresh !== false;
  const read = await bmc(o.signal, async () => {
    if (!fresh) return cache.read(m.name, power, { signal: o.signal });
    const state = await power.status({ signal: o.signal });
    cache.record(m.name, power, state);
    return { state, readAt: new Date(), cached: false };
  });
  return read && { machine: m.name, driver: m.power.driver, state: read.state, read_at: read.readAt.toISOString(), cached: read.cached };
}

/**
 * A power action (the caller has checked the principal may act), then its event. `via` says
 * where it came from in the event's cause ("the API", "the dashboard").
 */
export async function changePower(ctx: ApiContext, principal: Principal, name: string,
  o: { action: 'on' | 'off' | 'cycle'; bootDevice?: 'pxe' | 'disk'; signal: AbortSignal; via: string }): Promise<{ machine: string; driver: string; state: string } | undefined> {
  const m = await liveMachine(ctx, name);
  const power = ctx.power(m);
  const cache = powerCacheOf(ctx);
  // The signal only takes these out of the BMC queue: once sent, a change runs to its end.
  const state = await bmc(o.signal, async () => {
    if (o.bootDevice) await power.setBootDevice({ device: o.bootDevice, persistent: false }, { signal: o.signal });
    cache.forget(m.name);
    const after = await (o.action === 'on' ? power.on({ signal: o.signal }) : o.action === 'off' ? power.off({ signal: o.signal }) : power.cycle({ signal: o.signal }));
    cache.record(m.name, power, after);
    return after;
  });
  if (state === undefined) return undefined;
  await ctx.store.appendEvent({
    machine: m.name, kind: 'power', event: o.action, actor: `operator:${principal.name}`,
    cause: `power ${o.action}${o.bootDevice ? ` (next boot: ${o.bootDevice})` : ''} through ${o.via}; now ${state}`,
  });
  return { machine: m.name, driver: m.power.driver, state };
}

export function powerRouter(ctx: ApiContext): Router {
  const router = Router({ mergeParams: true });

  router.get('/:name/power', async (req, res) => {
    const query = parseInput(powerQuery, req.query, 'query');
    const read = await readPower(ctx, req.principal!, req.params.name, { fresh: query.fresh === undefined ? undefined : query.fresh === 'true', signal: clientGone(res) });
    if (read) res.json(read);
  });

  router.post('/:name/power', async (req, res) => {
    const body = parseInput(powerBody, req.body, 'body');
    const done = await changePower(ctx, req.principal!, req.params.name, { action: body.action, bootDevice: body.boot_device, signal: clientGone(res), via: 'the API' });
    if (done) res.json(done);
  });
  return router;
}
