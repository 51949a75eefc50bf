// The OperationStore contract, with the operation half of MachineStore.transition: a transition
// applies the plan core hands it verbatim (ends the running operation as told, starts the planned
// one with core's id and token) in the compare-and-set's transaction, and a lost compare-and-set
// applies none of it; at most one operation runs per machine; boot nonces trade once. The
// security side of nonces (only digests are stored) is tests/security/nonce-store.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { applyEvent } from '../../../daemon/core/lifecycle.js';
import { withOperationPlan } from '../../../daemon/core/operation-plan.js';
import type { MachineStore, OperationStore } from '../../../daemon/core/store/types.js';
import { move, spec, withStore, type StoreFactory } from './support.js';

type Operations = MachineStore & OperationStore;

const digest = (s: string) => createHash('sha256').update(s).digest('hex');
const inAMinute = () => new Date(Date.now() + 60_000).toISOString();
const now = () => new Date().toISOString();

export function describeOperationStore(name: string, make: StoreFactory<Operations>): void {
  describe(`OperationStore: ${name}`, () => {
    test('a transition applies the plan verbatim: the running operation ends as told, the planned one starts with core\'s id and token', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const m = (await store.getMachine('node-01'))!;
      const started = await store.transition({
        machine: 'node-01', outcome: applyEvent(m, 'inspect'), cause: null, actor: 'test',
        operations: { endRunning: { state: 'cancelled', error: 'superseded' }, start: { id: 'op-fixed-1', kind: 'inspect', token: 'token-fixed-0123456789abcdef0123' } },
      });
      assert.ok(started.ok);
      const op = started.operation!;
      assert.deepEqual([op.id, op.machine, op.kind, op.token, op.state, op.step, op.progress, op.error, op.finishedAt],
        ['op-fixed-1', 'node-01', 'inspect', 'token-fixed-0123456789abcdef0123', 'running', null, null, null, null]);
      assert.equal(op.createdAt, started.machine.stateChangedAt, 'stamped with the transition\'s time');
      assert.deepEqual(await store.getOperation('op-fixed-1'), op);
      assert.deepEqual(await store.operationByToken(op.token), op);
      assert.deepEqual(await store.activeOperation('node-01'), op);

      const inspecting = (await store.getMachine('node-01'))!;
      const ended = await store.transition({
        machine: 'node-01', outcome: applyEvent(inspecting, 'inspected'), cause: null, actor: 'agent',
        operations: { endRunning: { state: 'failed', error: 'told so by the plan' }, start: null },
      });
      assert.ok(ended.ok);
      assert.equal(ended.operation, undefined, 'nothing started');
      const after = (await store.getOperation('op-fixed-1'))!;
      assert.deepEqual([after.state, after.error], ['failed', 'told so by the plan'], 'the store decides nothing: it writes the plan');
      assert.equal(after.finishedAt, ended.machine.stateChangedAt);
      assert.equal(await store.activeOperation('node-01'), undefined);
    }));

    test('operations follow the state with core\'s plan: a fresh token per transitional state, ended when it is left', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const inspect = (await move(store, 'node-01', 'inspect')).operation!;
      assert.equal(inspect.kind, 'inspect');
      assert.equal(inspect.state, 'running');
      assert.ok(inspect.token.length >= 32);
      assert.equal((await store.activeOperation('node-01'))?.id, inspect.id);
      assert.equal((await move(store, 'node-01', 'error', { reason: 'no disks' })).operation, undefined);
      const failed = (await store.operationByToken(inspect.token))!;
      assert.deepEqual([failed.state, failed.error], ['failed', 'no disks']);
      assert.ok(failed.finishedAt);
      const retry = (await move(store, 'node-01', 'retry')).operation!;
      assert.notEqual(retry.token, inspect.token, 'a retry gets a new token: the old one is stale');
      await move(store, 'node-01', 'inspected');
      assert.deepEqual([(await store.getOperation(retry.id))?.state, (await store.getOperation(retry.id))?.error], ['succeeded', null]);
      assert.equal(await store.activeOperation('node-01'), undefined);
      const deploy = (await move(store, 'node-01', 'deploy')).operation!;
      assert.equal(deploy.kind, 'deploy');
      await move(store, 'node-01', 'maintenance_on');
      assert.deepEqual([(await store.getOperation(deploy.id))?.state, (await store.getOperation(deploy.id))?.error], ['cancelled', 'maintenance_on in deploying']);
    }));

    test('entering a transitional state from another supersedes the running operation: at most one runs', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      await move(store, 'node-01', 'inspect');
      await move(store, 'node-01', 'inspected');
      await move(store, 'node-01', 'deploy');
      await move(store, 'node-01', 'deployed');
      const erase = (await move(store, 'node-01', 'release')).operation!;
      assert.equal(erase.kind, 'erase');
      const redeploy = (await move(store, 'node-01', 'redeploy')).operation!;
      const old = (await store.getOperation(erase.id))!;
      assert.deepEqual([old.state, old.error], ['cancelled', 'superseded by redeploy']);
      assert.equal((await store.activeOperation('node-01'))?.id, redeploy.id);
      const listed = await store.listOperations('node-01', 10);
      assert.equal(listed.filter((o) => o.state === 'running').length, 1);
    }));

    test('a lost compare-and-set applies none of the plan', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const m = (await store.getMachine('node-01'))!;
      const running = (await move(store, 'node-01', 'inspect')).operation!;
      const stale = await store.transition(withOperationPlan({ machine: 'node-01', outcome: applyEvent(m, 'inspect'), cause: null, actor: 'test' }));
      assert.equal(stale.ok, false);
      assert.deepEqual(await store.activeOperation('node-01'), running, 'the running one was not superseded');
      assert.equal((await store.listOperations('node-01', 10)).length, 1, 'none started');
    }));

    test('operations newest first; progress written; ending one stamps its finish', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const first = (await move(store, 'node-01', 'inspect')).operation!;
      await move(store, 'node-01', 'fail');
      const second = (await move(store, 'node-01', 'retry')).operation!;
      await move(store, 'node-01', 'fail');
      const third = (await move(store, 'node-01', 'retry')).operation!;
      assert.deepEqual((await store.listOperations('node-01', 10)).map((o) => o.id), [third.id, second.id, first.id]);
      assert.deepEqual((await store.listOperations('node-01', 2)).map((o) => o.id), [third.id, second.id]);
      assert.equal((await store.latestOperation('node-01'))?.id, third.id);
      assert.deepEqual(await store.listOperations('nobody', 10), []);
      assert.equal(await store.latestOperation('nobody'), undefined);

      await store.updateOperation(third.id, { step: 'disks', progress: { done: ['facts'] } });
      let op = (await store.getOperation(third.id))!;
      assert.deepEqual([op.state, op.step, op.progress, op.finishedAt], ['running', 'disks', { done: ['facts'] }, null]);
      await store.updateOperation(third.id, { state: 'failed', error: 'gave up' });
      op = (await store.getOperation(third.id))!;
      assert.deepEqual([op.state, op.error, op.step], ['failed', 'gave up', 'disks']);
      assert.ok(op.finishedAt);
      assert.equal(await store.getOperation('nobody'), undefined);
      assert.equal(await store.operationByToken('nobody'), undefined);
    }));

    test('a boot nonce is replaced by the next, trades once (also when two race), and never for an ended operation or after its expiry', () => withStore(make, async (store, more) => {
      await store.syncInventory([spec(1)], 'test');
      const op = (await move(store, 'node-01', 'inspect')).operation!;
      await store.setBootNonce(op.id, digest('nonce-1'), inAMinute());
      await store.setBootNonce(op.id, digest('nonce-2'), inAMinute());
      assert.deepEqual(await store.tradeBootNonce(digest('nonce-1'), digest('agent-x'), now()), { ok: false, why: 'unknown' }, 'replaced');
      assert.equal(await store.operationByNonceDigest(digest('nonce-1')), undefined);
      assert.equal((await store.operationByNonceDigest(digest('nonce-2')))?.id, op.id);

      const other = await more();
      const trades = await Promise.all([
        store.tradeBootNonce(digest('nonce-2'), digest('agent-a'), now()),
        other.tradeBootNonce(digest('nonce-2'), digest('agent-b'), now()),
      ]);
      assert.equal(trades.filter((t) => t.ok).length, 1, 'one trade wins');
      const won = trades[0]!.ok ? 'agent-a' : 'agent-b';
      const lost = trades.find((t) => !t.ok)!;
      assert.equal(!lost.ok && lost.why, 'traded');
      assert.equal(!lost.ok && lost.operation?.id, op.id);
      assert.equal((await store.operationByAgentDigest(digest(won)))?.id, op.id);
      assert.equal(await store.operationByAgentDigest(digest(won === 'agent-a' ? 'agent-b' : 'agent-a')), undefined, 'the loser bought nothing');
      assert.equal((await store.operationByNonceDigest(digest('nonce-2')))?.id, op.id, 'a traded nonce still names its operation');

      await store.setBootNonce(op.id, digest('nonce-old'), new Date(Date.now() - 1000).toISOString());
      const expired = await store.tradeBootNonce(digest('nonce-old'), digest('agent-c'), now());
      assert.equal(!expired.ok && expired.why, 'expired');

      await store.setBootNonce(op.id, digest('nonce-end'), inAMinute());
      await move(store, 'node-01', 'fail');
      const ended = await store.tradeBootNonce(digest('nonce-end'), digest('agent-d'), now());
      assert.equal(!ended.ok && ended.why, 'ended');
      await store.setBootNonce(op.id, digest('nonce-late'), inAMinute());
      assert.equal(await store.operationByNonceDigest(digest('nonce-late')), undefined, 'an ended operation takes no new nonce');
      assert.equal((await store.operationByAgentDigest(digest(won)))?.state, 'failed', 'the agent token still names its (ended) operation');
    }));

    test('a lost transition leaves a running operation\'s nonce tradable', () => withStore(make, async (store) => {
      await store.syncInventory([spec(1)], 'test');
      const op = (await move(store, 'node-01', 'inspect')).operation!;
      await store.setBootNonce(op.id, digest('n'), inAMinute());
      const enrolled = { state: 'enrolled' as const, previousState: null, owner: null };
      assert.equal((await store.transition(withOperationPlan({ machine: 'node-01', outcome: applyEvent(enrolled, 'inspect'), cause: null, actor: 't' }))).ok, false);
      assert.equal((await store.tradeBootNonce(digest('n'), digest('a'), now())).ok, true, 'the lost transition ended nothing');
    }));
  });
}
