// The one way to change a machine's state. apply() decides with the lifecycle table and writes
// one compare-and-set (core/actions.ts act()); then, here and nowhere else, the transition is
// logged (the one "moved to X from Y" line, whoever caused it: an operator, a tenant, the agent,
// a machine phoning home, discovery, a timeout) and its effects run: an operation that started
// is handed to whoever boots machines into their work (the orchestrator registers itself).
// Transitions the store makes in a wider transaction (an allocation picks several machines at
// once) are handed over with record(), so they are logged and followed up the same way.
import { act, type ActRequest } from './actions.js';
import type { MachineRecord, OperationRecord, Store, Transitioned } from './store/types.js';
import type { Logger } from '../log.js';

export type OperationStarted = (machine: MachineRecord, operation: OperationRecord) => void;

export interface Transitions {
  /** Applies one lifecycle event to a stored machine; refusals throw (lifecycle/actions errors). */
  apply(req: ActRequest): Promise<Transitioned>;
  /** A transition the store already made (in a wider transaction): logged, its effects run. */
  record(result: Transitioned): void;
  /** What runs when a transition starts an operation (booting the machine into it). */
  onOperationStarted(fn: OperationStarted): void;
}

export function createTransitions(store: Store, logger: Logger): Transitions {
  const started: OperationStarted[] = [];
  const record = (r: Transitioned): void => {
    const { from, to, event, actor, cause } = r.event;
    // The cause may be a machine's own words (an agent's report): a field, not part of the message.
    logger.info({ machine: r.machine.name, from, to, event, actor, cause, operation: r.operation?.kind }, `${r.machine.name} moved to ${to} from ${from} (${event})`);
    if (r.operation) for (const fn of started) fn(r.machine, r.operation);
  };
  return {
    async apply(req) {
      const r = await act(store, req);
      record(r);
      return r;
    },
    record,
    onOperationStarted(fn) { started.push(fn); },
  };
}
