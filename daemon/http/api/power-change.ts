// A power action on one machine (on, off, cycle; optionally the next boot's device) and its event:
// what POST /api/v1/machines/NAME/power does, and the dashboard's bulk power actions too, so both
// drive the BMC and record alike. Who may ask is the caller's check (operators only).
import type { ApiContext } from './context.js';
import type { PowerStatusCache } from '../../power/status-cache.js';
import type { MachineRecord } from '../../core/store/types.js';
import type { PowerState } from '../../power/types.js';

export const POWER_ACTIONS = ['on', 'off', 'cycle'] as const;
export type PowerAction = (typeof POWER_ACTIONS)[number];

export interface PowerRequest {
  action: PowerAction;
  bootDevice?: 'pxe' | 'disk';
  /** Who (an event actor) and through what ("the API"), for the event. */
  actor: string;
  via: string;
  /** Takes the call out of the BMC queue if it has not been sent yet; a change sent runs to its end. */
  signal?: AbortSignal;
  /** The API's short status cache, told of the change. */
  cache?: PowerStatusCache;
}

/** Drives the machine's BMC, then records the power event; returns the power state after. */
export async function changePower(ctx: ApiContext, m: MachineRecord, c: PowerRequest): Promise<PowerState> {
  const power = ctx.power(m);
  const signal = c.signal;
  if (c.bootDevice) await power.setBootDevice({ device: c.bootDevice, persistent: false }, { signal });
  c.cache?.forget(m.name);
  const after = await (c.action === 'on' ? power.on({ signal }) : c.action === 'off' ? power.off({ signal }) : power.cycle({ signal }));
  c.cache?.record(m.name, power, after);
  await ctx.store.appendEvent({
    machine: m.name, kind: 'power', event: c.action, actor: c.actor,
    cause: `power ${c.action}${c.bootDevice ? ` (next boot: ${c.bootDevice})` : ''} through ${c.via}; now ${after}`,
  });
  return after;
}
