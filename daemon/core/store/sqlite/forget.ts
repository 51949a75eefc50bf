// Forgetting discovered machines in SQLite: in one transaction the running operation is cancelled
// (its tokens die with it), the lease deleted, the row retired and one event written. Which
// machines may be forgotten is core's verdict (core/forget.ts), handed in and applied inside the
// transaction so that it judges the row as it is when written; the adapter holds no rule of it.
import { now, type SqliteDb } from './db.js';
import type { ForgetResult, ForgetVerdict, ForgottenMachine } from '../records.js';

export function forgetDiscovered(d: SqliteDb, name: string, actor: string, cause: string, verdict: ForgetVerdict): ForgetResult {
  return d.write(() => forgetOne(d, name, actor, cause, verdict));
}

export function forgetPendingDiscovered(d: SqliteDb, actor: string, cause: string, verdict: ForgetVerdict): ForgottenMachine[] {
  return d.write(() => {
    const names = d.stmt("SELECT name FROM machines WHERE source = 'discovered' AND accepted = 0 AND retired_at IS NULL ORDER BY name")
      .pluck().all() as string[];
    const out: ForgottenMachine[] = [];
    for (const name of names) {
      const r = forgetOne(d, name, actor, cause, verdict);
      if (r.ok) out.push({ machine: r.machine, freedLease: r.freedLease, cancelledOperation: r.cancelledOperation });
    }
    return out;
  });
}

/** The caller holds the transaction. */
function forgetOne(d: SqliteDb, name: string, actor: string, cause: string, verdict: ForgetVerdict): ForgetResult {
  const m = d.machine(name);
  if (!m || m.retiredAt) return { ok: false, reason: 'not_found', detail: `no machine named ${name}` };
  const refusal = verdict(m);
  if (refusal) return { ok: false, ...refusal };
  const t = now();
  const op = d.stmt("SELECT id FROM operations WHERE machine = ? AND state = 'running'").pluck().get(name) as string | undefined;
  // Its tokens die with the operation: an agent still holding one is refused from now on.
  d.stmt("UPDATE operations SET state = 'cancelled', finished_at = ?, error = ? WHERE machine = ? AND state = 'running'")
    .run(t, 'the machine was forgotten by an operator', name);
  const lease = d.stmt('SELECT ip FROM leases WHERE mac = ?').pluck().get(m.mac) as string | undefined;
  d.stmt('DELETE FROM leases WHERE mac = ?').run(m.mac);
  // Back to enrolled, so no timeout sweep moves the retired row later; the event keeps what it was.
  d.stmt(`UPDATE machines SET retired_at = ?, state = 'enrolled', previous_state = ?, state_changed_at = ?, updated_at = ?,
      version = version + 1 WHERE name = ?`).run(t, m.state, t, t, name);
  d.insertEvent({
    machine: name, kind: 'inventory', event: 'forgotten', cause, actor,
    data: { mac: m.mac, state: m.state, accepted: m.accepted, freed_lease: lease ?? null, cancelled_operation: op ?? null },
  });
  return { ok: true, machine: d.machine(name)!, freedLease: lease ?? null, cancelledOperation: op ?? null };
}
