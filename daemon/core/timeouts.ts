// Nothing stays in flight forever: a machine that has been in a transitional state longer than
// its timeout fails with the reason. Run at start (after a crash or restart) and periodically.
import { TRANSITIONAL, applyEvent, timeoutFor, type State } from './lifecycle.js';
import type { MachineRecord, Store } from './store/types.js';

export async function sweepTimeouts(store: Store, now: Date, overrides: Partial<Record<State, number>> = {}): Promise<MachineRecord[]> {
  const failed: MachineRecord[] = [];
  for (const state of TRANSITIONAL) {
    const limit = timeoutFor(state, overrides)!;
    for (const m of await store.listMachines({ state, includeRetired: true })) {
      const elapsed = (now.getTime() - Date.parse(m.stateChangedAt)) / 1000;
      if (elapsed < limit) continue;
      const outcome = applyEvent(m, 'timeout', { reason: `timed out in ${state} after ${limit} s` });
      // A lost compare-and-set means the machine moved on meanwhile: nothing to do.
      const result = await store.transition({ machine: m.name, outcome, cause: outcome.lastError, actor: 'system' });
      if (result.ok) failed.push(result.machine);
    }
  }
  return failed;
}
