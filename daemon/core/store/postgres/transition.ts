// A transition as PostgreSQL writes it: the compare-and-set on the machine's state (an UPDATE whose
// WHERE names the state it must still be in: a racing writer waits on the row lock, then finds
// the state changed and updates nothing), the operation plan core decided
// (core/operation-plan.ts), and the one transition event. The caller holds the transaction (with
// the event-order lock), so a transition alone (MachineStore.transition) and several with an
// allocation row (AllocationStore.allocate) commit or roll back as one.
import { operationFromRow, machineFromRow, type Row } from './rows.js';
import { insertEvent, machineIn, now, type Client } from './db.js';
import { enqueueBoot } from './work.js';
import type { OperationPlan, OperationRecord, TransitionRequest, TransitionResult } from '../records.js';

export async function writeTransition(c: Client, req: TransitionRequest): Promise<TransitionResult> {
  const { outcome } = req;
  const t = now();
  const setProfile = req.deployProfile !== undefined;
  const params: unknown[] = [outcome.to, outcome.previousState, outcome.lastError, outcome.owner, t, req.machine, outcome.from];
  if (setProfile) params.push(req.deployProfile ?? null);
  if (req.version !== undefined) params.push(req.version);
  const { rows } = await c.query(`UPDATE machines SET state = $1, previous_state = $2, last_error = $3, owner = $4,
      ${setProfile ? 'deploy_profile = $8,' : ''} state_changed_at = $5, updated_at = $5, version = version + 1
      WHERE name = $6 AND state = $7 ${req.version === undefined ? '' : `AND version = $${params.length}`} RETURNING *`, params);
  if (!rows[0]) return { ok: false, current: await machineIn(c, req.machine) };
  const operation = await applyOperationPlan(c, req.machine, req.operations, t);
  const event = await insertEvent(c, {
    machine: req.machine, kind: 'transition', event: outcome.event, from: outcome.from, to: outcome.to,
    cause: req.cause ?? outcome.lastError, actor: req.actor, data: req.data ?? null,
  });
  return { ok: true, machine: machineFromRow(rows[0] as Row), event, operation };
}

/** Ends the running operation as planned and starts the planned one, stamped with the transition's time. */
async function applyOperationPlan(c: Client, machine: string, plan: OperationPlan, t: string): Promise<OperationRecord | undefined> {
  await c.query(`UPDATE operations SET state = $1, finished_at = $2, error = $3 WHERE machine = $4 AND state = 'running'`,
    [plan.endRunning.state, t, plan.endRunning.error, machine]);
  if (!plan.start) return undefined;
  const { rows } = await c.query(`INSERT INTO operations (id, machine, kind, token, state, created_at)
      VALUES ($1, $2, $3, $4, 'running', $5) RETURNING *`, [plan.start.id, machine, plan.start.kind, plan.start.token, t]);
  // Its boot is durable work from this moment: a crash before the BMC is called loses nothing.
  await enqueueBoot(c, machine, plan.start.id, t);
  return operationFromRow(rows[0] as Row);
}
