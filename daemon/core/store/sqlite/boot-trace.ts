// BootTraceStore on SQLite: a batch is one write transaction, and each machine in it is pruned to
// its newest `keep` entries in that same transaction, so the table never outgrows its bound.
import { json, type Row } from './rows.js';
import type { SqliteDb } from './db.js';
import type { BootTraceStore } from '../ports.js';
import { traceFromRow } from '../trace-rows.js';

export function sqliteBootTraceStore(d: SqliteDb): BootTraceStore {
  return {
    async appendBootTrace(entries, keep) {
      if (!entries.length) return;
      const at = new Date().toISOString();
      await d.commit(() => {
        const insert = d.stmt('INSERT INTO boot_trace (machine, at, kind, outcome, summary, detail, text) VALUES (?, ?, ?, ?, ?, ?, ?)');
        for (const e of entries) insert.run(e.machine, e.at ?? at, e.kind, e.outcome, e.summary, json(e.detail), e.text ?? null);
        const prune = d.stmt(`DELETE FROM boot_trace WHERE machine = ? AND id <= coalesce(
            (SELECT id FROM boot_trace WHERE machine = ? ORDER BY id DESC LIMIT 1 OFFSET ?), -1)`);
        for (const m of new Set(entries.map((e) => e.machine))) prune.run(m, m, keep);
      });
    },

    async listBootTrace(machine, limit) {
      const rows = d.stmt('SELECT * FROM boot_trace WHERE machine = ? ORDER BY id DESC LIMIT ?').all(machine, limit) as Row[];
      return rows.reverse().map((r) => traceFromRow(r, String, (v) => (typeof v === 'string' ? JSON.parse(v) : v)));
    },
  };
}
