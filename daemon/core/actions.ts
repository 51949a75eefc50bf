// Applying a lifecycle event to a stored machine: read, decide with the pure engine, write with
// one compare-and-set. A lost race is re-decided once against the fresh state, so a caller sees
// either success or the refusal that the machine's real state warrants.
import { applyEvent, IllegalTransition, type Actor, type EventArgs, type LifecycleEvent, type State } from './lifecycle.js';
import type { Store, Transitioned } from './store/types.js';
import { withOperationPlan } from './operation-plan.js';

export class MachineNotFound extends Error {
  readonly code = 'NOT_FOUND';
  constructor(readonly machine: string) {
    super(`no machine named ${machine}`);
  }
}

export class TransitionConflict extends Error {
  readonly code = 'CONFLICT';
}

export interface ActRequest extends EventArgs {
  machine: string;
  event: LifecycleEvent;
  actor: Actor | string;
  cause?: string;
  deployProfile?: string | null;
  data?: Record<string, unknown>;
  /**
   * Apply only to the machine as the caller saw it (a timeout sweep decided from that state and
   * its start): if it moved on meanwhile, TransitionConflict, not a retry. Such a caller may also
   * act on a retired machine (its work still has to end).
   */
  unchangedSince?: { state: State; at: string };
  /**
   * Apply only while the machine is this owner's (a tenant acting, an allocation letting go): a
   * machine that moved on to another owner since is, to this caller, not found.
   */
  ownedBy?: string;
}

export async function act(store: Store, req: ActRequest): Promise<Transitioned> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const machine = await store.getMachine(req.machine);
    if (!machine || (machine.retiredAt && !req.unchangedSince)) throw new MachineNotFound(req.machine);
    const seen = req.unchangedSince;
    if (seen && (machine.state !== seen.state || machine.stateChangedAt !== seen.at)) {
      throw new TransitionConflict(`${req.machine} moved on (now ${machine.state} since ${machine.stateChangedAt}) before ${req.event} was applied`);
    }
    if (req.ownedBy !== undefined && machine.owner !== req.ownedBy) throw new MachineNotFound(req.machine);
    const outcome = applyEvent(machine, req.event, req);
    // On the version read: a lost race is decided again on what the machine is now (its owner too).
    const result = await store.transition(withOperationPlan({
      machine: req.machine, outcome, actor: req.actor, version: machine.version,
      cause: req.cause ?? req.reason ?? null,
      deployProfile: req.deployProfile, data: req.data ?? null,
    }));
    if (result.ok) return { machine: result.machine, event: result.event, operation: result.operation };
  }
  throw new TransitionConflict(`${req.machine} changed state twice while ${req.event} was being applied; try again`);
}

export { IllegalTransition };
