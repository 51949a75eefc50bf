// WorkStore on PostgreSQL: daemons of many racks claim work concurrently. A claim is one UPDATE
// over rows picked with FOR UPDATE SKIP LOCKED (two daemons never pick one row; neither waits on
// the other), leased by the server's clock; a daemon that dies stops extending its claims and
// they lapse to whoever may take them (its standby). Every change after the claim names the
// claimant, so a daemon whose claim lapsed can no longer write over its successor.
import { type Client, type PgDb } from './db.js';
import { workFromRow } from './rows.js';
import type { WorkStore } from '../ports.js';
import { OPEN_WORK_BY_RACK_SQL } from '../machine-query.js';
import type { WorkRecord } from '../records.js';

export function pgWorkStore(d: PgDb): WorkStore {
  const claimed = async (sql: string, params: unknown[]) => (await d.run(sql, params)) === 1;
  return {
    async claimWork(req) {
      const named = req.racks.filter((r): r is string => r !== null);
      const rows = await d.rows(`UPDATE work SET claimed_by = $1, claimed_until = now() + make_interval(secs => $2), attempts = attempts + 1
          WHERE id IN (
            SELECT w.id FROM work w JOIN machines m ON m.name = w.machine
            WHERE w.done_at IS NULL AND (w.claimed_until IS NULL OR w.claimed_until < now())
              AND (m.rack = ANY($3::text[]) OR ($4 AND m.rack IS NULL))
            ORDER BY w.id LIMIT $5
            FOR UPDATE OF w SKIP LOCKED)
          RETURNING *`, [req.daemon, req.leaseSeconds, named, req.racks.includes(null), req.limit]);
      return rows.map(workFromRow).sort((a, b) => a.id - b.id);
    },

    extendClaim: (id, daemon, leaseSeconds) => claimed(
      'UPDATE work SET claimed_until = now() + make_interval(secs => $3) WHERE id = $1 AND claimed_by = $2 AND done_at IS NULL', [id, daemon, leaseSeconds]),

    markWorkStep: (id, daemon, step) => claimed(
      'UPDATE work SET step = $3 WHERE id = $1 AND claimed_by = $2 AND done_at IS NULL', [id, daemon, step]),

    finishWork: (id, daemon, outcome) => claimed(
      'UPDATE work SET done_at = now(), outcome = $3 WHERE id = $1 AND claimed_by = $2 AND done_at IS NULL', [id, daemon, outcome]),

    async enqueueTakeovers(rack, silentDaemon) {
      // ON CONFLICT on (operation, kind, cause): standbys racing here enqueue each takeover once.
      const rows = await d.rows(`INSERT INTO work (machine, operation, kind, cause, created_at)
          SELECT o.machine, o.id, 'takeover', $2, now() FROM operations o JOIN machines m ON m.name = o.machine
          WHERE o.state = 'running' AND m.rack = $1 AND m.retired_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM work w WHERE w.operation = o.id AND w.done_at IS NULL)
            AND (SELECT w.claimed_by FROM work w WHERE w.operation = o.id AND w.done_at IS NOT NULL ORDER BY w.id DESC LIMIT 1) = $2
          ON CONFLICT (operation, kind, cause) DO NOTHING
          RETURNING *`, [rack, silentDaemon]);
      return rows.map(workFromRow);
    },

    async listOpenWork() {
      return (await d.rows('SELECT * FROM work WHERE done_at IS NULL ORDER BY id')).map(workFromRow);
    },

    async openWorkByRack() {
      return (await d.rows(OPEN_WORK_BY_RACK_SQL)).map((r) => ({ rack: r.rack === null ? null : String(r.rack), n: Number(r.n) }));
    },

    pruneWork: (before) => d.run('DELETE FROM work WHERE done_at IS NOT NULL AND done_at < $1', [before]),
  };
}

/** Enqueues the boot of an operation a transition just started (inside that transition's transaction). */
export async function enqueueBoot(c: Client, machine: string, operation: string, t: string): Promise<WorkRecord> {
  const { rows } = await c.query(`INSERT INTO work (machine, operation, kind, created_at) VALUES ($1, $2, 'boot', $3) RETURNING *`, [machine, operation, t]);
  return workFromRow(rows[0]!);
}
