// RackStore on PostgreSQL: every daemon of the fleet heartbeats here. Silence is judged by the
// server's clock alone (now() in every statement), so daemons with skewed clocks agree.
import { jsonb, type PgDb } from './db.js';
import { rackFromRow } from './rows.js';
import type { RackStore } from '../ports.js';

export function pgRackStore(d: PgDb): RackStore {
  return {
    async heartbeat(rack, daemon, info, silentAfter) {
      // One statement: insert, or take over a row whose holder is this daemon, stopped, or silent.
      const row = await d.row(`INSERT INTO racks AS r (name, daemon, info, started_at, heartbeat_at) VALUES ($1, $2, $3, now(), now())
          ON CONFLICT (name) DO UPDATE SET daemon = excluded.daemon, info = excluded.info, heartbeat_at = now(), stopped_at = NULL,
            started_at = CASE WHEN r.daemon = excluded.daemon THEN r.started_at ELSE now() END
          WHERE r.daemon = excluded.daemon OR r.stopped_at IS NOT NULL OR r.heartbeat_at < now() - make_interval(secs => $4)
          RETURNING name`, [rack, daemon, jsonb(info), silentAfter]);
      if (row) return { ok: true };
      const holder = await d.row('SELECT daemon, extract(epoch FROM now() - heartbeat_at) AS silent_for FROM racks WHERE name = $1', [rack]);
      return { ok: false, holder: String(holder?.daemon ?? '?'), silentFor: Number(holder?.silent_for ?? 0) };
    },

    async rackStopped(rack, daemon) {
      await d.run('UPDATE racks SET stopped_at = now() WHERE name = $1 AND daemon = $2', [rack, daemon]);
    },

    async listRacks() {
      return (await d.rows('SELECT *, extract(epoch FROM now() - heartbeat_at) AS silent_for FROM racks ORDER BY name')).map(rackFromRow);
    },
  };
}
