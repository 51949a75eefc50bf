// WorkStore on SQLite. One process writes the file at a time (BEGIN IMMEDIATE), so a claim is a
// plain read-then-update inside one write transaction; the lease still matters after a crash:
// the restarted daemon takes over its own lapsed claims.
import { workFromRow, type Row } from './rows.js';
import { now, type SqliteDb } from './db.js';
import type { WorkStore } from '../ports.js';
import { OPEN_WORK_BY_RACK_SQL } from '../machine-query.js';
import type { WorkRecord } from '../records.js';

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

export function sqliteWorkStore(d: SqliteDb): WorkStore {
  const byId = (id: number): WorkRecord => workFromRow(d.stmt('SELECT * FROM work WHERE id = ?').get(id) as Row);
  return {
    async claimWork(req) {
      return d.commit(() => {
        const named = req.racks.filter((r): r is string => r !== null);
        const unracked = req.racks.includes(null);
        const rows = d.stmt(`SELECT w.id, m.rack FROM work w JOIN machines m ON m.name = w.machine
            WHERE w.done_at IS NULL AND (w.claimed_until IS NULL OR w.claimed_until < ?)
            ORDER BY w.id`).all(now()) as { id: number; rack: string | null }[];
        const mine = rows.filter((r) => (r.rack === null ? unracked : named.includes(r.rack))).slice(0, req.limit);
        const until = inSeconds(req.leaseSeconds);
        for (const r of mine) {
          d.stmt('UPDATE work SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1 WHERE id = ?').run(req.daemon, until, r.id);
        }
        return mine.map((r) => byId(r.id));
      });
    },

    async extendClaim(id, daemon, leaseSeconds) {
      const until = inSeconds(leaseSeconds);
      return d.commit(() => d.stmt('UPDATE work SET claimed_until = ? WHERE id = ? AND claimed_by = ? AND done_at IS NULL')
        .run(until, id, daemon).changes === 1);
    },

    async markWorkStep(id, daemon, step) {
      return d.commit(() => d.stmt('UPDATE work SET step = ? WHERE id = ? AND claimed_by = ? AND done_at IS NULL').run(step, id, daemon).changes === 1);
    },

    async finishWork(id, daemon, outcome) {
      const t = now();
      return d.commit(() => d.stmt('UPDATE work SET done_at = ?, outcome = ? WHERE id = ? AND claimed_by = ? AND done_at IS NULL')
        .run(t, outcome, id, daemon).changes === 1);
    },

    async enqueueTakeovers(rack, silentDaemon) {
      return d.write(() => {
        const t = now();
        const ops = d.stmt(`SELECT o.id, o.machine FROM operations o JOIN machines m ON m.name = o.machine
            WHERE o.state = 'running' AND m.rack = ? AND m.retired_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM work w WHERE w.operation = o.id AND w.done_at IS NULL)
              AND (SELECT w.claimed_by FROM work w WHERE w.operation = o.id AND w.done_at IS NOT NULL ORDER BY w.id DESC LIMIT 1) = ?`)
          .all(rack, silentDaemon) as { id: string; machine: string }[];
        const out: WorkRecord[] = [];
        for (const op of ops) {
          const r = d.stmt(`INSERT INTO work (machine, operation, kind, cause, created_at) VALUES (?, ?, 'takeover', ?, ?)
              ON CONFLICT (operation, kind, cause) DO NOTHING`).run(op.machine, op.id, silentDaemon, t);
          if (r.changes === 1) out.push(byId(Number(r.lastInsertRowid)));
        }
        return out;
      });
    },

    async listOpenWork() {
      return (d.stmt('SELECT * FROM work WHERE done_at IS NULL ORDER BY id').all() as Row[]).map(workFromRow);
    },

    async openWorkByRack() {
      return d.stmt(OPEN_WORK_BY_RACK_SQL).all() as { rack: string | null; n: number }[];
    },

    async pruneWork(before) {
      return d.stmt('DELETE FROM work WHERE done_at IS NOT NULL AND done_at < ?').run(before).changes;
    },
  };
}

/** Enqueues the boot of an operation a transition just started (inside that transition's transaction). */
export function enqueueBoot(d: SqliteDb, machine: string, operation: string, t: string): void {
  d.stmt(`INSERT INTO work (machine, operation, kind, created_at) VALUES (?, ?, 'boot', ?)`).run(machine, operation, t);
}
