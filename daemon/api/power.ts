// /api/v1/machines/NAME/power: the machine's power state through its BMC (GET), and power
// actions (POST {action: on|off|cycle, boot_device?: pxe|disk}). Each action is an event.
import { Router } from 'express';
import { z } from 'zod';
import { ApiError } from './errors.js';
import { parseInput } from './validate.js';
import type { ApiContext } from './app.js';
import { PowerError } from '../power/index.js';
import type { MachineRecord } from '../core/store/types.js';

const powerBody = z.strictObject({
  action: z.enum(['on', 'off', 'cycle']),
  boot_device: z.enum(['pxe', 'disk']).optional(),
});

export function powerRouter(ctx: ApiContext): Router {
  const router = Router({ mergeParams: true });
  const machine = async (name: string): Promise<MachineRecord> => {
    const m = await ctx.store.getMachine(name);
    if (!m || m.retiredAt) throw new ApiError('NOT_FOUND', `no machine named ${name}`);
    return m;
  };
  const bmc = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof PowerError) throw new ApiError('POWER_FAILED', err.message, { power_code: err.code });
      throw err;
    }
  };

  router.get('/:name/power', async (req, res) => {
    const m = await machine(req.params.name);
    const state = await bmc(() => ctx.power(m).status());
    res.json({ machine: m.name, driver: m.power.driver, state });
  });

  router.post('/:name/power', async (req, res) => {
    const body = parseInput(powerBody, req.body, 'body');
    const m = await machine(req.params.name);
    const power = ctx.power(m);
    const state = await bmc(async () => {
      if (body.boot_device) await power.setBootDevice({ device: body.boot_device, persistent: false });
      return body.action === 'on' ? power.on() : body.action === 'off' ? power.off() : power.cycle();
    });
    await ctx.store.appendEvent({
      machine: m.name, kind: 'power', event: body.action, actor: `operator:${req.principal!.name}`,
      cause: `power ${body.action}${body.boot_device ? ` (next boot: ${body.boot_device})` : ''} through the API; now ${state}`,
    });
    res.json({ machine: m.name, driver: m.power.driver, state });
  });
  return router;
}
