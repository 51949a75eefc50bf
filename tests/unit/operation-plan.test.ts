import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, type LifecycleEvent, type LifecycleView } from '../../daemon/core/lifecycle.js';
import { mintOperation, planOperations } from '../../daemon/core/operation-plan.js';

const fixed = (kind: string) => ({ id: `op-${kind}`, kind, token: `token-${kind}` });
const plan = (m: LifecycleView, event: LifecycleEvent, reason?: string) => planOperations(applyEvent(m, event, { owner: 'acme', ...(reason && { reason }) }), fixed);

test('entering a transitional state supersedes the running operation and starts the state\'s activity', () => {
  assert.deepEqual(plan({ state: 'enrolled', previousState: null, owner: null }, 'inspect'),
    { endRunning: { state: 'cancelled', error: 'superseded by inspect' }, start: { id: 'op-inspect', kind: 'inspect', token: 'token-inspect' } });
  assert.equal(plan({ state: 'allocated', previousState: null, owner: 'acme' }, 'deploy').start?.kind, 'deploy');
  assert.equal(plan({ state: 'deployed', previousState: null, owner: 'acme' }, 'release').start?.kind, 'erase');
  assert.deepEqual(plan({ state: 'releasing', previousState: null, owner: 'acme' }, 'redeploy').endRunning, { state: 'cancelled', error: 'superseded by redeploy' });
});

test('leaving one ends the running operation: failed with the reason, cancelled by maintenance, otherwise succeeded', () => {
  assert.deepEqual(plan({ state: 'inspecting', previousState: null, owner: null }, 'inspected'), { endRunning: { state: 'succeeded', error: null }, start: null });
  assert.deepEqual(plan({ state: 'deploying', previousState: null, owner: 'acme' }, 'error', 'disk gone'), { endRunning: { state: 'failed', error: 'disk gone' }, start: null });
  assert.deepEqual(plan({ state: 'deploying', previousState: null, owner: 'acme' }, 'timeout').endRunning, { state: 'failed', error: 'timed out in deploying' });
  assert.deepEqual(plan({ state: 'deploying', previousState: null, owner: 'acme' }, 'maintenance_on').endRunning, { state: 'cancelled', error: 'maintenance_on in deploying' });
  assert.deepEqual(plan({ state: 'ready', previousState: null, owner: null }, 'allocate'), { endRunning: { state: 'succeeded', error: null }, start: null });
});

test('retry re-enters the step that failed with a fresh operation', () => {
  const p = plan({ state: 'failed', previousState: 'deploying', owner: 'acme' }, 'retry');
  assert.equal(p.start?.kind, 'deploy');
});

test('the default mint makes a fresh random id and token each time', () => {
  const [a, b] = [mintOperation('inspect'), mintOperation('inspect')];
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.token, b.token);
  assert.match(a.token, /^[A-Za-z0-9_-]{32}$/);
});
