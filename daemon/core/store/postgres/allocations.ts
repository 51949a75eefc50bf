// AllocationStore on PostgreSQL: an allocation row and the compare-and-sets that take its machines
// commit in one transaction, or none does. A lost race throws out of the transaction, which rolls
// back every compare-and-set already applied: a lost race leaves no trace. Racing allocations,
// from this process or another daemon on the same database, meet on the machines' rows: the
// database decides, not a lock in any one process.
import { allocationFromRow } from './rows.js';
import { jsonb, now, type PgDb } from './db.js';
import { writeTransition } from './transition.js';
import type { AllocationStore } from '../ports.js';
import type { AllocateResult, MachineRecord, Transitioned } from '../records.js';

class LostRace extends Error {
  constructor(readonly machine: string) { super(machine); }
}

export function pgAllocationStore(d: PgDb): AllocationStore {
  return {
    async allocate(req) {
      try {
        return await d.tx(async (c): Promise<AllocateResult> => {
          const machines: MachineRecord[] = [];
          const transitions: Transitioned[] = [];
          for (const tr of req.transitions) {
            const r = await writeTransition(c, tr);
            if (!r.ok) throw new LostRace(tr.machine);
            machines.push(r.machine);
            transitions.push({ machine: r.machine, event: r.event, operation: r.operation });
          }
          const a = req.allocation;
          const { rows } = await c.query(`INSERT INTO allocations (id, owner, profile, constraints, machines, state, actor, created_at)
              VALUES ($1, $2, $3, $4, $5, 'active', $6, $7) RETURNING *`,
          [a.id, a.owner, a.profile, jsonb(a.constraints), jsonb(a.machines), a.actor, now()]);
          return { ok: true, allocation: allocationFromRow(rows[0]!), machines, transitions };
        }, { events: true });
      } catch (err) {
        if (err instanceof LostRace) return { ok: false, lost: err.machine };
        throw err;
      }
    },

    async getAllocation(id) {
      const row = await d.row('SELECT * FROM allocations WHERE id = $1', [id]);
      return row && allocationFromRow(row);
    },

    async listAllocations(opts = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (opts.owner !== undefined) { params.push(opts.owner); where.push(`owner = $${params.length}`); }
      if (opts.state) { params.push(opts.state); where.push(`state = $${params.length}`); }
      const sql = `SELECT * FROM allocations ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at, id`;
      return (await d.rows(sql, params)).map(allocationFromRow);
    },

    async allocationsOfMachine(machine, owner) {
      const rows = await d.rows(`SELECT * FROM allocations WHERE machines ? $1 AND ($2::text IS NULL OR owner = $2)
          ORDER BY created_at DESC, id DESC`, [machine, owner ?? null]);
      return rows.map(allocationFromRow);
    },

    async markAllocationReleased(id) {
      return (await d.run("UPDATE allocations SET state = 'released', released_at = $1 WHERE id = $2 AND state = 'active'", [now(), id])) === 1;
    },
  };
}
