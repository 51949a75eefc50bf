// UiSessionStore on SQLite: opening a session also sweeps the stale ones and the oldest beyond
// the cap, in the same write, so the table never outgrows its bound.
import type { Row } from './rows.js';
import type { SqliteDb } from './db.js';
import type { UiSessionRecord, UiSessionStore } from '../ports.js';

const record = (r: Row): UiSessionRecord => ({
  idDigest: String(r.id_digest), tokenDigest: String(r.token_digest), csrf: String(r.csrf), createdAt: String(r.created_at), seenAt: String(r.seen_at),
});

export function sqliteUiSessionStore(d: SqliteDb): UiSessionStore {
  return {
    async openUiSession(rec, max, staleBefore) {
      d.write(() => {
        d.stmt('DELETE FROM ui_sessions WHERE seen_at < ?').run(staleBefore);
        d.stmt(`DELETE FROM ui_sessions WHERE id_digest IN (
            SELECT id_digest FROM ui_sessions ORDER BY created_at DESC, id_digest LIMIT -1 OFFSET ?)`).run(Math.max(0, max - 1));
        d.stmt('INSERT INTO ui_sessions (id_digest, token_digest, csrf, created_at, seen_at) VALUES (?, ?, ?, ?, ?)')
          .run(rec.idDigest, rec.tokenDigest, rec.csrf, rec.createdAt, rec.seenAt);
      });
    },
    async uiSession(idDigest) {
      const r = d.stmt('SELECT * FROM ui_sessions WHERE id_digest = ?').get(idDigest) as Row | undefined;
      return r ? record(r) : undefined;
    },
    async touchUiSession(idDigest, seenAt) {
      d.write(() => d.stmt('UPDATE ui_sessions SET seen_at = ? WHERE id_digest = ? AND seen_at < ?').run(seenAt, idDigest, seenAt));
    },
    async closeUiSession(idDigest) {
      d.write(() => d.stmt('DELETE FROM ui_sessions WHERE id_digest = ?').run(idDigest));
    },
  };
}
