// UiSessionStore on PostgreSQL: any daemon of the site reads a session another opened. Opening
// one also sweeps the stale ones and the oldest beyond the cap, in the same transaction.
import type { PgDb } from './db.js';
import type { UiSessionRecord, UiSessionStore } from '../ports.js';

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));
const record = (r: Record<string, unknown>): UiSessionRecord => ({
  idDigest: String(r.id_digest), tokenDigest: String(r.token_digest), csrf: String(r.csrf), createdAt: iso(r.created_at), seenAt: iso(r.seen_at),
});

export function pgUiSessionStore(d: PgDb): UiSessionStore {
  return {
    async openUiSession(rec, max, staleBefore) {
      await d.tx(async (c) => {
        await c.query('DELETE FROM ui_sessions WHERE seen_at < $1', [staleBefore]);
        await c.query(`DELETE FROM ui_sessions WHERE id_digest IN (
            SELECT id_digest FROM ui_sessions ORDER BY created_at DESC, id_digest OFFSET $1)`, [Math.max(0, max - 1)]);
        await c.query('INSERT INTO ui_sessions (id_digest, token_digest, csrf, created_at, seen_at) VALUES ($1, $2, $3, $4, $5)',
          [rec.idDigest, rec.tokenDigest, rec.csrf, rec.createdAt, rec.seenAt]);
      });
    },
    async uiSession(idDigest) {
      const rows = await d.rows('SELECT * FROM ui_sessions WHERE id_digest = $1', [idDigest]);
      return rows[0] ? record(rows[0]) : undefined;
    },
    async touchUiSession(idDigest, seenAt) {
      await d.rows('UPDATE ui_sessions SET seen_at = $1 WHERE id_digest = $2 AND seen_at < $1', [seenAt, idDigest]);
    },
    async closeUiSession(idDigest) {
      await d.rows('DELETE FROM ui_sessions WHERE id_digest = $1', [idDigest]);
    },
  };
}
