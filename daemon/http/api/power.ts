// /api/v1/machines/NAME/power: the machine's power state through its BMC (GET), and power
// actions (POST {action: on|off|cycle, boot_device?: pxe|disk}). Each action is an event.
// Reads by tenants and read-only tokens come from a short shared cache (power/status-cache.ts),
// so they cannot queue BMC logins in front of an operator; admins read the BMC itself unless
// they ask for ?fresh=false. A client that hangs up takes its BMC call with it (dequeued, or
// aborted if it is a read already running); a power change already sent to the BMC finishes.
import { Router, type Response } from 'express';
import { readPower } from './power-read.js';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { parseInput } from '../validate.js';
import type { ApiContext } from './context.js';
import { PowerStatusCache } from '../../power/status-cache.js';
import { changePower } from './power-change.js';
import type { MachineRecord } from '../../core/store/types.js';

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

export function powerRouter(ctx: ApiContext, cache = new PowerStatusCache()): Router {
  const router = Router({ mergeParams: true });
  const machine = async (name: string): Promise<MachineRecord> => {
    const m = await ctx.store.getMachine(name);
    if (!m || m.retiredAt) throw new ApiError('NOT_FOUND', `no machine named ${name}`);
    return m;
  };
  const bmc = async <T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      // Nobody is left to answer, and an abandoned call is not an error worth a log line.
      if (signal.aborted) return undefined;
      throw err;
    }
  };

  router.get('/:name/power', async (req, res) => {
    const query = parseInput(powerQuery, req.query, 'query');
    const fresh = query.fresh === undefined ? undefined : query.fresh === 'true';
    const read = await readPower(ctx, req.principal!, () => machine(req.params.name), { fresh, signal: clientGone(res), cache });
    if (read) res.json(read);
  });

  router.post('/:name/power', async (req, res) => {
    const body = parseInput(powerBody, req.body, 'body');
    const m = await machine(req.params.name);
    const signal = clientGone(res);
    // The signal only takes these out of the BMC queue: once sent, a change runs to its end.
    const state = await bmc(signal, () => changePower(ctx, m, {
      action: body.action, bootDevice: body.boot_device, actor: `operator:${req.principal!.name}`, via: 'the API', signal, cache,
    }));
    if (state === undefined) return;
    res.json({ machine: m.name, driver: m.power.driver, state });
  });
  return router;
}
