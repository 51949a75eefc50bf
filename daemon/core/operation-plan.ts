// What a transition does to a machine's operations, decided here and nowhere else: entering a
// transitional state supersedes whatever runs and starts that state's activity with a fresh id and
// token; any other transition ends the running operation (failed into `failed`, cancelled into
// maintenance, succeeded otherwise). The caller hands the plan to store.transition, which applies
// it in the same transaction as the compare-and-set, so no backend holds (or can get wrong) a
// lifecycle rule, and secrets are minted here rather than in an adapter.
import { randomBytes, randomUUID } from 'node:crypto';
import { ACTIVITY, type Outcome, type State } from './lifecycle.js';
import type { NewOperation, OperationPlan, TransitionRequest } from './store/types.js';

/** Makes the identity and secret of an operation about to start. */
export type OperationMint = (kind: string) => NewOperation;

/** A random id, and a token of 24 random bytes (32 base64url characters). */
export const mintOperation: OperationMint = (kind) => ({ id: randomUUID(), kind, token: randomBytes(24).toString('base64url') });

/**
 * The plan for `outcome`. The running operation is whichever one runs when the store applies the
 * plan (at most one per machine), so the plan does not name it: the compare-and-set on the state
 * already guarantees that nothing moved the machine in between. Pure but for `mint`.
 */
export function planOperations(outcome: Outcome, mint: OperationMint = mintOperation): OperationPlan {
  const activity = (ACTIVITY as Partial<Record<State, string>>)[outcome.to];
  if (activity) {
    return { endRunning: { state: 'cancelled', error: `superseded by ${outcome.event}` }, start: mint(activity) };
  }
  const state = outcome.to === 'failed' ? 'failed' : outcome.to === 'maintenance' ? 'cancelled' : 'succeeded';
  const error = state === 'succeeded' ? null : outcome.lastError ?? `${outcome.event} in ${outcome.from}`;
  return { endRunning: { state, error }, start: null };
}

/** The request with the plan of its outcome: what a caller passes to store.transition or allocate. */
export function withOperationPlan(req: Omit<TransitionRequest, 'operations'>, mint?: OperationMint): TransitionRequest {
  return { ...req, operations: planOperations(req.outcome, mint) };
}
