// ApiTokenStore on PostgreSQL: tenant tokens by name, found by the sha256 of their secret (the
// secret is never stored). Names and digests are unique in the schema, so a clash throws. Revoking
// keeps the row, so the name and its events keep meaning.
import { now, type PgDb } from './db.js';
import { apiTokenFromRow } from './rows.js';
import type { ApiTokenStore } from '../ports.js';

export function pgApiTokenStore(d: PgDb): ApiTokenStore {
  return {
    async createApiToken(rec) {
      const row = await d.row(`INSERT INTO api_tokens (name, owner, digest, created_by, created_at, expires_at)
          VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`, [rec.name, rec.owner, rec.digest, rec.createdBy, now(), rec.expiresAt ?? null]);
      return apiTokenFromRow(row!);
    },

    async apiTokenByDigest(digest) {
      const row = await d.row('SELECT * FROM api_tokens WHERE digest = $1', [digest]);
      return row && apiTokenFromRow(row);
    },

    async listApiTokens(opts = {}) {
      const rows = opts.owner === undefined
        ? await d.rows('SELECT * FROM api_tokens ORDER BY name')
        : await d.rows('SELECT * FROM api_tokens WHERE owner = $1 ORDER BY name', [opts.owner]);
      return rows.map(apiTokenFromRow);
    },

    async revokeApiToken(name) {
      // COALESCE keeps the first revocation time; RETURNING gives the row in the same statement.
      const row = await d.row('UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE name = $2 RETURNING *', [now(), name]);
      return row && apiTokenFromRow(row);
    },

    async touchApiToken(name, at) {
      await d.run('UPDATE api_tokens SET last_used_at = $1 WHERE name = $2', [at, name]);
    },
  };
}
