// Nothing stays in flight forever: a machine that has been in a transitional state longer than
// its timeout fails with the reason. Run at start (after a crash or restart) and periodically.
import { TRANSITIONAL, applyEvent, timeoutFor, type State } from './lifecycle.js';
import type { Inventory } from './inventory/schema.js';
import { machineProfile } from './inventory/machine-profile.js';
import type { MachineRecord, Store } from './store/types.js';
import { withOperationPlan } from './operation-plan.js';

export type TimeoutOverrides = Partial<Record<State, number>>;

/**
 * The limits that apply to one machine: its profile's (the one it is deploying or was deployed
 * with) over the site's, each state on its own; the built-in defaults fill the rest.
 */
export function machineTimeouts(inventory: Pick<Inventory, 'site' | 'profiles'>, m: Pick<MachineRecord, 'deployProfile' | 'profile'>): TimeoutOverrides {
  const own = machineProfile(inventory, m)?.profile.timeouts ?? {};
  const merged: TimeoutOverrides = { ...inventory.site.timeouts };
  for (const [state, seconds] of Object.entries(own)) if (seconds !== undefined) merged[state as State] = seconds;
  return merged;
}

export async function sweepTimeouts(store: Store, now: Date, overridesOf: (m: MachineRecord) => TimeoutOverrides = () => ({})): Promise<MachineRecord[]> {
  const failed: MachineRecord[] = [];
  for (const state of TRANSITIONAL) {
    for (const m of await store.listMachines({ state, includeRetired: true })) {
      const limit = timeoutFor(state, overridesOf(m))!;
      const elapsed = (now.getTime() - Date.parse(m.stateChangedAt)) / 1000;
      if (elapsed < limit) continue;
      const outcome = applyEvent(m, 'timeout', { reason: `timed out in ${state} after ${limit} s` });
      // A lost compare-and-set means the machine moved on meanwhile: nothing to do.
      const result = await store.transition(withOperationPlan({ machine: m.name, outcome, cause: outcome.lastError, actor: 'system' }));
      if (result.ok) failed.push(result.machine);
    }
  }
  return failed;
}
