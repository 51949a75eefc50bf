// BootTraceStore on PostgreSQL: the daemon serving a rack writes its machines' traces, any
// daemon's API reads them. A batch is one transaction (one multi-row INSERT), and each machine in
// it is pruned to its newest `keep` entries in that same transaction.
import { jsonb, type PgDb } from './db.js';
import type { BootTraceStore } from '../ports.js';
import { traceFromRow } from '../trace-rows.js';

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

export function pgBootTraceStore(d: PgDb): BootTraceStore {
  return {
    async appendBootTrace(entries, keep) {
      if (!entries.length) return;
      const at = new Date().toISOString();
      const params: unknown[] = [];
      const values = entries.map((e) => {
        params.push(e.machine, e.at ?? at, e.kind, e.outcome, e.summary, jsonb(e.detail), e.text ?? null);
        const n = params.length;
        return `($${n - 6}, $${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
      });
      const machines = [...new Set(entries.map((e) => e.machine))];
      await d.tx(async (c) => {
        await c.query(`INSERT INTO boot_trace (machine, at, kind, outcome, summary, detail, text) VALUES ${values.join(', ')}`, params);
        await c.query(`DELETE FROM boot_trace t USING (
            SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY machine ORDER BY id DESC) AS n
              FROM boot_trace WHERE machine = ANY($1::text[])) ranked WHERE n > $2) old
          WHERE t.id = old.id`, [machines, keep]);
      });
    },

    async listBootTrace(machine, limit) {
      const rows = await d.rows('SELECT * FROM boot_trace WHERE machine = $1 ORDER BY id DESC LIMIT $2', [machine, limit]);
      return rows.reverse().map((r) => traceFromRow(r, iso, (v) => v));
    },
  };
}
