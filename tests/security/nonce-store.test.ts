// Issue 11, item 2: the boot nonce trades once, within its life, while its operation runs; the
// store keeps digests only, and a later script's nonce replaces an earlier one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { applyEvent, type LifecycleEvent } from '../../daemon/core/lifecycle.js';
import { secretDigest } from '../../daemon/http/boot-token.js';
import { tempDir } from '../lib/tmp.js';
import { spec } from '../lib/machines.js';
import { withOperationPlan } from '../../daemon/core/operation-plan.js';

async function inspecting() {
  const file = join(tempDir('nonce'), 'rackhand.db');
  const store = await openSqliteStore(file);
  await store.syncInventory([spec(1)], 'test');
  const step = async (event: LifecycleEvent) => {
    const m = (await store.getMachine('node-01'))!;
    const r = await store.transition(withOperationPlan({ machine: 'node-01', outcome: applyEvent(m, event, { reason: 'test' }), cause: 'test', actor: 'test' }));
    assert.ok(r.ok);
    return r.operation;
  };
  const op = (await step('inspect'))!;
  return { store, file, op, step };
}

const soon = () => new Date(Date.now() + 60_000).toISOString();
const now = () => new Date().toISOString();

test('a nonce trades once; replay, expiry, replacement and an ended operation are refused', async () => {
  const { store, file, op, step } = await inspecting();
  await store.setBootNonce(op.id, secretDigest('nonce-one-0123456789'), soon());
  await store.setBootNonce(op.id, secretDigest('nonce-two-0123456789'), soon());
  assert.deepEqual(await store.tradeBootNonce(secretDigest('nonce-one-0123456789'), secretDigest('agent-a'), now()), { ok: false, why: 'unknown' }, 'replaced by the next script');
  const first = await store.tradeBootNonce(secretDigest('nonce-two-0123456789'), secretDigest('agent-a'), now());
  assert.ok(first.ok);
  const replay = await store.tradeBootNonce(secretDigest('nonce-two-0123456789'), secretDigest('agent-b'), now());
  assert.equal(!replay.ok && replay.why, 'traded');
  assert.equal((await store.operationByAgentDigest(secretDigest('agent-a')))?.id, op.id);
  assert.equal(await store.operationByAgentDigest(secretDigest('agent-b')), undefined, 'the replay bought nothing');

  await store.setBootNonce(op.id, secretDigest('nonce-old-0123456789'), new Date(Date.now() - 1000).toISOString());
  const expired = await store.tradeBootNonce(secretDigest('nonce-old-0123456789'), secretDigest('agent-c'), now());
  assert.equal(!expired.ok && expired.why, 'expired');

  await store.setBootNonce(op.id, secretDigest('nonce-end-0123456789'), soon());
  await step('fail');
  const ended = await store.tradeBootNonce(secretDigest('nonce-end-0123456789'), secretDigest('agent-d'), now());
  assert.equal(!ended.ok && ended.why, 'ended');
  await store.close();

  const db = new Database(file, { readonly: true });
  const dump = JSON.stringify(db.prepare('SELECT * FROM operations').all());
  db.close();
  for (const secret of ['nonce-two-0123456789', 'nonce-end-0123456789', 'agent-a']) assert.ok(!dump.includes(secret), `${secret} is not stored`);
});
