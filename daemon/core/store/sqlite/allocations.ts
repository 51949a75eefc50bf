// AllocationStore on SQLite: an allocation row and the compare-and-sets that take its machines
// commit in one transaction, or none does. A lost race throws out of the transaction, which makes
// better-sqlite3 undo every compare-and-set already applied: a lost race leaves no trace.
import { allocationFromRow, json, type Row } from './rows.js';
import { now, type SqliteDb } from './db.js';
import { writeTransition } from './transition.js';
import type { AllocationStore } from '../ports.js';
import type { AllocateResult, AllocationRecord, MachineRecord, Transitioned } from '../records.js';

class LostRace extends Error {
  constructor(readonly machine: string) { super(machine); }
}

export function sqliteAllocationStore(d: SqliteDb): AllocationStore {
  const allocation = (id: string): AllocationRecord | undefined => {
    const row = d.stmt('SELECT * FROM allocations WHERE id = ?').get(id) as Row | undefined;
    return row && allocationFromRow(row);
  };
  return {
    async allocate(req) {
      try {
        return d.write((): AllocateResult => {
          const machines: MachineRecord[] = [];
          const transitions: Transitioned[] = [];
          for (const tr of req.transitions) {
            const r = writeTransition(d, tr);
            if (!r.ok) throw new LostRace(tr.machine);
            machines.push(r.machine);
            transitions.push({ machine: r.machine, event: r.event, operation: r.operation });
          }
          const a = req.allocation;
          d.stmt(`INSERT INTO allocations (id, owner, profile, constraints, machines, state, actor, created_at)
              VALUES (?, ?, ?, ?, ?, 'active', ?, ?)`)
            .run(a.id, a.owner, a.profile, json(a.constraints), json(a.machines), a.actor, now());
          return { ok: true, allocation: allocation(a.id)!, machines, transitions };
        });
      } catch (err) {
        if (err instanceof LostRace) return { ok: false, lost: err.machine };
        throw err;
      }
    },

    async getAllocation(id) {
      return allocation(id);
    },

    async listAllocations(opts = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (opts.owner !== undefined) { where.push('owner = ?'); params.push(opts.owner); }
      if (opts.state) { where.push('state = ?'); params.push(opts.state); }
      const sql = `SELECT * FROM allocations ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at, id`;
      return (d.stmt(sql).all(...params) as Row[]).map(allocationFromRow);
    },

    async allocationsOfMachine(machine, owner) {
      const rows = d.stmt(`SELECT * FROM allocations WHERE EXISTS (SELECT 1 FROM json_each(allocations.machines) WHERE value = ?)
          AND (? IS NULL OR owner = ?) ORDER BY created_at DESC, id DESC`).all(machine, owner ?? null, owner ?? null) as Row[];
      return rows.map(allocationFromRow);
    },

    async markAllocationReleased(id) {
      return d.stmt("UPDATE allocations SET state = 'released', released_at = ? WHERE id = ? AND state = 'active'").run(now(), id).changes === 1;
    },
  };
}
