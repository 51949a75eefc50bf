// RackStore on SQLite: one daemon per file, so the rack table holds at most the daemon itself
// (its heartbeat still guards against a second daemon started on the same file for the rack).
import { json, rackFromRow, type Row } from './rows.js';
import { now, type SqliteDb } from './db.js';
import type { RackStore } from '../ports.js';

const silentFor = (heartbeatAt: string) => (Date.now() - Date.parse(heartbeatAt)) / 1000;

export function sqliteRackStore(d: SqliteDb): RackStore {
  return {
    async heartbeat(rack, daemon, info, silentAfter) {
      return d.write(() => {
        const t = now();
        const row = d.stmt('SELECT daemon, heartbeat_at, stopped_at FROM racks WHERE name = ?').get(rack) as Row | undefined;
        if (row && row.daemon !== daemon && row.stopped_at === null && silentFor(row.heartbeat_at as string) < silentAfter) {
          return { ok: false, holder: row.daemon as string, silentFor: silentFor(row.heartbeat_at as string) };
        }
        if (row && row.daemon === daemon) {
          d.stmt('UPDATE racks SET heartbeat_at = ?, info = ?, stopped_at = NULL WHERE name = ?').run(t, json(info), rack);
        } else {
          d.stmt(`INSERT INTO racks (name, daemon, info, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)
              ON CONFLICT (name) DO UPDATE SET daemon = excluded.daemon, info = excluded.info, started_at = excluded.started_at,
                heartbeat_at = excluded.heartbeat_at, stopped_at = NULL`).run(rack, daemon, json(info), t, t);
        }
        return { ok: true };
      });
    },

    async rackStopped(rack, daemon) {
      d.stmt('UPDATE racks SET stopped_at = ? WHERE name = ? AND daemon = ?').run(now(), rack, daemon);
    },

    async listRacks() {
      return (d.stmt('SELECT * FROM racks ORDER BY name').all() as Row[])
        .map((r) => rackFromRow({ ...r, silent_for: silentFor(r.heartbeat_at as string) }));
    },
  };
}
