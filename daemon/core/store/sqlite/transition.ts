// A transition as SQLite writes it: the compare-and-set on the machine's state, the operation plan
// core decided (core/operation-plan.ts), and the one transition event. The caller holds the
// transaction, so a transition alone (MachineStore.transition) and several with an allocation
// row (AllocationStore.allocate) commit or roll back as one.
import { operationFromRow, type Row } from './rows.js';
import { now, type SqliteDb } from './db.js';
import { enqueueBoot } from './work.js';
import type { OperationPlan, OperationRecord, TransitionRequest, TransitionResult } from '../records.js';

export function writeTransition(d: SqliteDb, req: TransitionRequest): TransitionResult {
  const { outcome } = req;
  const t = now();
  const setProfile = req.deployProfile !== undefined;
  const result = d.stmt(`UPDATE machines SET state = ?, previous_state = ?, last_error = ?, owner = ?,
      ${setProfile ? 'deploy_profile = ?,' : ''} state_changed_at = ?, updated_at = ?, version = version + 1
      WHERE name = ? AND state = ? ${req.version === undefined ? '' : 'AND version = ?'}`)
    .run(outcome.to, outcome.previousState, outcome.lastError, outcome.owner,
      ...(setProfile ? [req.deployProfile ?? null] : []), t, t, req.machine, outcome.from,
      ...(req.version === undefined ? [] : [req.version]));
  if (result.changes !== 1) return { ok: false, current: d.machine(req.machine) };
  const operation = applyOperationPlan(d, req.machine, req.operations, t);
  const event = d.insertEvent({
    machine: req.machine, kind: 'transition', event: outcome.event, from: outcome.from, to: outcome.to,
    cause: req.cause ?? outcome.lastError, actor: req.actor, data: req.data ?? null,
  });
  return { ok: true, machine: d.machine(req.machine)!, event, operation };
}

/** Ends the running operation as planned and starts the planned one, stamped with the transition's time. */
function applyOperationPlan(d: SqliteDb, machine: string, plan: OperationPlan, t: string): OperationRecord | undefined {
  d.stmt(`UPDATE operations SET state = ?, finished_at = ?, error = ? WHERE machine = ? AND state = 'running'`)
    .run(plan.endRunning.state, t, plan.endRunning.error, machine);
  if (!plan.start) return undefined;
  d.stmt(`INSERT INTO operations (id, machine, kind, token, state, created_at) VALUES (?, ?, ?, ?, 'running', ?)`)
    .run(plan.start.id, machine, plan.start.kind, plan.start.token, t);
  // Its boot is durable work from this moment: a crash before the BMC is called loses nothing.
  enqueueBoot(d, machine, plan.start.id, t);
  return operationFromRow(d.stmt('SELECT * FROM operations WHERE id = ?').get(plan.start.id) as Row);
}
