// Reading a machine's power state, as GET /api/v1/machines/NAME/power does and the dashboard's
// "Read power state" button too (one code path): admins read the BMC (unless fresh is false),
// everyone else the short shared cache, so no tenant or read-only token queues BMC calls in front
// of an operator. One cache per daemon context, shared by the API's routes and the dashboard.
import { ApiError } from '../errors.js';
import type { ApiContext } from './context.js';
import type { Principal } from './tokens.js';
import { PowerStatusCache } from '../../power/status-cache.js';
import type { MachineRecord } from '../../core/store/types.js';

const caches = new WeakMap<ApiContext, PowerStatusCache>();
export const powerCacheOf = (ctx: ApiContext): PowerStatusCache => {
  let c = caches.get(ctx);
  if (!c) { c = new PowerStatusCache(); caches.set(ctx, c); }
  return c;
};

export interface PowerRead { machine: string; driver: string; state: string; read_at: string; cached: boolean }

/**
 * `machine` looks the machine up (as the caller may see it), after the fresh check. Undefined when
 * the caller went away meanwhile (nobody is left to answer, and it is no error worth a log line).
 */
export async function readPower(ctx: ApiContext, principal: Principal, machine: () => Promise<MachineRecord>,
  o: { fresh?: boolean; signal: AbortSignal; cache?: PowerStatusCache }): Promise<PowerRead | undefined> {
  const admin = principal.role === 'admin';
  if (o.fresh === true && !admin) {
    throw new ApiError('FORBIDDEN', `token ${principal.name} may read power state only from the cache; fresh=true is for admin tokens`, { field: 'fresh' });
  }
  const m = await machine();
  const power = ctx.power(m);
  const cache = o.cache ?? powerCacheOf(ctx);
  const fresh = admin && o.fresh !== false;
  try {
    const read = fresh
      ? await power.status({ signal: o.signal }).then((state) => { cache.record(m.name, power, state); return { state, readAt: new Date(), cached: false }; })
      : await cache.read(m.name, power, { signal: o.signal });
    return { machine: m.name, driver: m.power.driver, state: read.state, read_at: read.readAt.toISOString(), cached: read.cached };
  } catch (err) {
    if (o.signal.aborted) return undefined;
    throw err;
  }
}
