// OperationStore on SQLite: operations are rows started and ended by transitions (transition.ts);
// here they are read, their progress written, and their boot nonces traded for agent tokens. Only
// digests of the nonce and the agent token are stored, never the secrets themselves.
import { json, operationFromRow, type Row } from './rows.js';
import { now, type SqliteDb } from './db.js';
import type { OperationStore } from '../ports.js';
import type { NonceTrade, OperationRecord } from '../records.js';

export function sqliteOperationStore(d: SqliteDb): OperationStore {
  const one = (sql: string, ...params: unknown[]): OperationRecord | undefined => {
    const row = d.stmt(sql).get(...params) as Row | undefined;
    return row && operationFromRow(row);
  };
  const listOperations = async (machine: string, limit: number) =>
    (d.stmt('SELECT * FROM operations WHERE machine = ? ORDER BY created_at DESC, rowid DESC LIMIT ?')
      .all(machine, limit) as Row[]).map(operationFromRow);
  return {
    async getOperation(id) {
      return one('SELECT * FROM operations WHERE id = ?', id);
    },

    async operationByToken(token) {
      return one('SELECT * FROM operations WHERE token = ?', token);
    },

    async activeOperation(machine) {
      return one("SELECT * FROM operations WHERE machine = ? AND state = 'running' ORDER BY created_at DESC LIMIT 1", machine);
    },

    async latestOperation(machine) {
      return (await listOperations(machine, 1))[0];
    },

    listOperations,

    async updateOperation(id, patch) {
      const sets: string[] = [];
      const params: unknown[] = [];
      if (patch.state !== undefined) {
        sets.push('state = ?'); params.push(patch.state);
        if (patch.state !== 'running') { sets.push('finished_at = ?'); params.push(now()); }
      }
      if (patch.step !== undefined) { sets.push('step = ?'); params.push(patch.step); }
      if (patch.progress !== undefined) { sets.push('progress = ?'); params.push(json(patch.progress)); }
      if (patch.error !== undefined) { sets.push('error = ?'); params.push(patch.error); }
      // A handful of column sets: each statement is prepared once and kept.
      if (sets.length) await d.commit(() => d.stmt(`UPDATE operations SET ${sets.join(', ')} WHERE id = ?`).run(...params, id));
    },

    async setBootNonce(operationId, digest, expiresAt) {
      await d.commit(() => d.stmt(`UPDATE operations SET nonce_digest = ?, nonce_expires_at = ?, nonce_traded_at = NULL
          WHERE id = ? AND state = 'running'`).run(digest, expiresAt, operationId));
    },

    async tradeBootNonce(digest, agentDigest, t) {
      return d.commit((): NonceTrade => {
        const row = d.stmt('SELECT * FROM operations WHERE nonce_digest = ?').get(digest) as Row | undefined;
        if (!row) return { ok: false, why: 'unknown' };
        const operation = operationFromRow(row);
        if (row.nonce_traded_at) return { ok: false, why: 'traded', operation };
        if (operation.state !== 'running') return { ok: false, why: 'ended', operation };
        if (String(row.nonce_expires_at) <= t) return { ok: false, why: 'expired', operation };
        d.stmt('UPDATE operations SET nonce_traded_at = ?, agent_digest = ? WHERE id = ?').run(t, agentDigest, operation.id);
        return { ok: true, operation };
      });
    },

    async operationByNonceDigest(digest) {
      return one('SELECT * FROM operations WHERE nonce_digest = ?', digest);
    },

    async operationByAgentDigest(digest) {
      return one('SELECT * FROM operations WHERE agent_digest = ?', digest);
    },
  };
}
