// Nothing stays in flight forever: a machine that has been in a transitional state longer than
// its timeout fails with the reason. Run at start (after a crash or restart) and periodically.
import { TRANSITIONAL, timeoutFor, type State } from './lifecycle.js';
import type { Inventory } from './inventory/schema.js';
import { machineProfile } from './inventory/machine-profile.js';
import type { MachineRecord, Store } from './store/types.js';
import { MachineNotFound, TransitionConflict } from './actions.js';
import type { Transitions } from './transitions.js';

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

/**
 * Fails every machine past its deadline, through the one transition path (so each is logged and
 * its operation ended like any other). Retired machines too: their work must end all the same.
 */
export async function sweepTimeouts(store: Pick<Store, 'listMachines'>, transitions: Pick<Transitions, 'apply'>, now: Date,
  overridesOf: (m: MachineRecord) => TimeoutOverrides = () => ({}), mine: (m: MachineRecord) => boolean = () => true): Promise<MachineRecord[]> {
  const failed: MachineRecord[] = [];
  for (const state of TRANSITIONAL) {
    for (const m of await store.listMachines({ state, includeRetired: true })) {
      // Many racks: each daemon sweeps the racks it serves (its own, and a silent one it stands in for).
      if (!mine(m)) continue;
      const limit = timeoutFor(state, overridesOf(m))!;
      const elapsed = (now.getTime() - Date.parse(m.stateChangedAt)) / 1000;
      if (elapsed < limit) continue;
      try {
        const r = await transitions.apply({
          machine: m.name, event: 'timeout', actor: 'system', reason: `timed out in ${state} after ${limit} s`,
          unchangedSince: { state: m.state, at: m.stateChangedAt },
        });
        failed.push(r.machine);
      } catch (err) {
        // It moved on meanwhile (or was forgotten): the deadline was about a state it left.
        if (!(err instanceof TransitionConflict) && !(err instanceof MachineNotFound)) throw err;
      }
    }
  }
  return failed;
}
