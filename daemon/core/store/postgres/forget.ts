// Forgetting discovered machines in PostgreSQL: in one transaction the running operation is
// cancelled (its tokens die with it), the lease deleted, the row retired and one event written.
// Which machines may be forgotten is core's verdict (core/forget.ts), handed in and applied inside
// the transaction to the row as locked (SELECT … FOR UPDATE), so that it judges the row as it is
// when written; the adapter holds no rule of it.
import { insertEvent, machineIn, now, type Client, type PgDb } from './db.js';
import type { ForgetResult, ForgetVerdict, ForgottenMachine } from '../records.js';

export function forgetDiscovered(d: PgDb, name: string, actor: string, cause: string, verdict: ForgetVerdict): Promise<ForgetResult> {
  return d.tx((c) => forgetOne(c, name, actor, cause, verdict), { events: true });
}

export function forgetPendingDiscovered(d: PgDb, actor: string, cause: string, verdict: ForgetVerdict): Promise<ForgottenMachine[]> {
  return d.tx(async (c) => {
    const { rows } = await c.query("SELECT name FROM machines WHERE source = 'discovered' AND NOT accepted AND retired_at IS NULL ORDER BY name");
    const out: ForgottenMachine[] = [];
    for (const { name } of rows as { name: string }[]) {
      const r = await forgetOne(c, name, actor, cause, verdict);
      if (r.ok) out.push({ machine: r.machine, freedLease: r.freedLease, cancelledOperation: r.cancelledOperation });
    }
    return out;
  }, { events: true });
}

/** The caller holds the transaction. */
async function forgetOne(c: Client, name: string, actor: string, cause: string, verdict: ForgetVerdict): Promise<ForgetResult> {
  const m = await machineIn(c, name, true);
  if (!m || m.retiredAt) return { ok: false, reason: 'not_found', detail: `no machine named ${name}` };
  const refusal = verdict(m);
  if (refusal) return { ok: false, ...refusal };
  const t = now();
  // Its tokens die with the operation: an agent still holding one is refused from now on.
  const { rows: ops } = await c.query(`UPDATE operations SET state = 'cancelled', finished_at = $1, error = $2
      WHERE machine = $3 AND state = 'running' RETURNING id`, [t, 'the machine was forgotten by an operator', name]);
  const op = (ops[0] as { id: string } | undefined)?.id ?? null;
  const { rows: leases } = await c.query('DELETE FROM leases WHERE mac = $1 RETURNING ip', [m.mac]);
  const lease = (leases[0] as { ip: string } | undefined)?.ip ?? null;
  // Back to enrolled, so no timeout sweep moves the retired row later; the event keeps what it was.
  await c.query(`UPDATE machines SET retired_at = $1, state = 'enrolled', previous_state = $2, state_changed_at = $1, updated_at = $1,
      version = version + 1 WHERE name = $3`, [t, m.state, name]);
  await insertEvent(c, {
    machine: name, kind: 'inventory', event: 'forgotten', cause, actor,
    data: { mac: m.mac, state: m.state, accepted: m.accepted, freed_lease: lease, cancelled_operation: op },
  });
  return { ok: true, machine: (await machineIn(c, name))!, freedLease: lease, cancelledOperation: op };
}
