// ApiTokenStore on SQLite: tenant tokens by name, found by the sha256 of their secret (the secret
// is never stored). Revoking keeps the row, so the name and its events keep meaning.
import { apiTokenFromRow, type Row } from './rows.js';
import { now, type SqliteDb } from './db.js';
import type { ApiTokenStore } from '../ports.js';
import type { ApiTokenRecord } from '../records.js';

export function sqliteApiTokenStore(d: SqliteDb): ApiTokenStore {
  const byName = (name: string): ApiTokenRecord | undefined => {
    const row = d.stmt('SELECT * FROM api_tokens WHERE name = ?').get(name) as Row | undefined;
    return row && apiTokenFromRow(row);
  };
  return {
    async createApiToken(rec) {
      d.stmt('INSERT INTO api_tokens (name, owner, digest, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(rec.name, rec.owner, rec.digest, rec.createdBy, now(), rec.expiresAt ?? null);
      return byName(rec.name)!;
    },

    async apiTokenByDigest(digest) {
      const row = d.stmt('SELECT * FROM api_tokens WHERE digest = ?').get(digest) as Row | undefined;
      return row && apiTokenFromRow(row);
    },

    async listApiTokens(opts = {}) {
      const rows = opts.owner === undefined
        ? d.stmt('SELECT * FROM api_tokens ORDER BY name').all()
        : d.stmt('SELECT * FROM api_tokens WHERE owner = ? ORDER BY name').all(opts.owner);
      return (rows as Row[]).map(apiTokenFromRow);
    },

    async revokeApiToken(name) {
      d.stmt('UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(now(), name);
      return byName(name);
    },

    async touchApiToken(name, at) {
      d.stmt('UPDATE api_tokens SET last_used_at = ? WHERE name = ?').run(at, name);
    },
  };
}
