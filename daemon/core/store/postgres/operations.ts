// OperationStore on PostgreSQL: operations are rows started and ended by transitions
// (transition.ts); here they are read, their progress written, and their boot nonces traded for
// agent tokens. Only digests of the nonce and the agent token are stored, never the secrets. The
// trade is one UPDATE … WHERE nonce_traded_at IS NULL … RETURNING: of two racing trades the second
// waits on the row, then finds it traded and changes nothing.
import { jsonb, now, type PgDb } from './db.js';
import { operationFromRow } from './rows.js';
import type { OperationStore } from '../ports.js';
import type { NonceTrade, OperationRecord } from '../records.js';

export function pgOperationStore(d: PgDb): OperationStore {
  const one = async (sql: string, ...params: unknown[]): Promise<OperationRecord | undefined> => {
    const row = await d.row(sql, params);
    return row && operationFromRow(row);
  };
  const listOperations = async (machine: string, limit: number) =>
    (await d.rows('SELECT * FROM operations WHERE machine = $1 ORDER BY created_at DESC, seq DESC LIMIT $2', [machine, limit])).map(operationFromRow);
  return {
    async getOperation(id) {
      return one('SELECT * FROM operations WHERE id = $1', id);
    },

    async operationByToken(token) {
      return one('SELECT * FROM operations WHERE token = $1', token);
    },

    async activeOperation(machine) {
      return one("SELECT * FROM operations WHERE machine = $1 AND state = 'running' ORDER BY created_at DESC, seq DESC LIMIT 1", machine);
    },

    async latestOperation(machine) {
      return (await listOperations(machine, 1))[0];
    },

    listOperations,

    async updateOperation(id, patch) {
      const sets: string[] = [];
      const params: unknown[] = [];
      const set = (column: string, value: unknown) => { params.push(value); sets.push(`${column} = $${params.length}`); };
      if (patch.state !== undefined) {
        set('state', patch.state);
        if (patch.state !== 'running') set('finished_at', now());
      }
      if (patch.step !== undefined) set('step', patch.step);
      if (patch.progress !== undefined) set('progress', jsonb(patch.progress));
      if (patch.error !== undefined) set('error', patch.error);
      if (!sets.length) return;
      params.push(id);
      await d.run(`UPDATE operations SET ${sets.join(', ')} WHERE id = $${params.length}`, params);
    },

    async setBootNonce(operationId, digest, expiresAt) {
      await d.run(`UPDATE operations SET nonce_digest = $1, nonce_expires_at = $2, nonce_traded_at = NULL
          WHERE id = $3 AND state = 'running'`, [digest, expiresAt, operationId]);
    },

    async tradeBootNonce(digest, agentDigest, t): Promise<NonceTrade> {
      const traded = await d.row(`UPDATE operations SET nonce_traded_at = $3, agent_digest = $2
          WHERE nonce_digest = $1 AND nonce_traded_at IS NULL AND state = 'running' AND nonce_expires_at > $3
          RETURNING *`, [digest, agentDigest, t]);
      if (traded) {
        // The record as it was when traded: the agent token is not a field of it.
        return { ok: true, operation: operationFromRow(traded) };
      }
      // Nothing traded: say why (a replay first, then an ended operation, then expiry).
      const row = await d.row('SELECT * FROM operations WHERE nonce_digest = $1', [digest]);
      if (!row) return { ok: false, why: 'unknown' };
      const operation = operationFromRow(row);
      if (row.nonce_traded_at) return { ok: false, why: 'traded', operation };
      if (operation.state !== 'running') return { ok: false, why: 'ended', operation };
      return { ok: false, why: 'expired', operation };
    },

    async operationByNonceDigest(digest) {
      return one('SELECT * FROM operations WHERE nonce_digest = $1', digest);
    },

    async operationByAgentDigest(digest) {
      return one('SELECT * FROM operations WHERE agent_digest = $1', digest);
    },
  };
}
