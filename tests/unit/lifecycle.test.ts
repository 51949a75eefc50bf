import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL_EVENTS, ALL_STATES, IllegalTransition, applyEvent, allowedEvents, mermaidDiagram, timeoutFor,
  type LifecycleEvent, type State,
} from '../../daemon/core/lifecycle.js';

// SPEC §2, written out by hand as "state event → next state" so that the table in the code is
// checked against an independent reading of the contract. Every pair not listed must be refused.
// One extension, on purpose: release from deploying and failed erases too (README, Lifecycle).
const EXPECTED = `
enrolled inspect → inspecting
ready inspect → inspecting
failed inspect → inspecting
inspecting inspected → ready
ready allocate → allocated
ready deploy → deploying
allocated deploy → deploying
failed deploy → deploying
deploying deployed → deployed
deployed reimage → deploying
ready reimage → deploying
deployed release → releasing
allocated release → ready
deploying release → releasing
failed release → releasing
releasing erased → ready
releasing redeploy → deploying
inspecting timeout → failed
deploying timeout → failed
releasing timeout → failed
inspecting error → failed
deploying error → failed
releasing error → failed
inspecting fail → failed
deploying fail → failed
releasing fail → failed
failed retry → (previous)
enrolled maintenance_on → maintenance
inspecting maintenance_on → maintenance
ready maintenance_on → maintenance
allocated maintenance_on → maintenance
deploying maintenance_on → maintenance
deployed maintenance_on → maintenance
releasing maintenance_on → maintenance
failed maintenance_on → maintenance
maintenance maintenance_off → (resume)
`.trim().split('\n').map((l) => l.split(/\s+/)).map(([from, event, , to]) => ({ from: from as State, event: event as LifecycleEvent, to: to! }));

const expectedFor = (s: State, e: LifecycleEvent) => EXPECTED.find((x) => x.from === s && x.event === e);

test('every state × event pair is allowed exactly as SPEC §2 says, and refused otherwise', () => {
  let allowed = 0;
  let refused = 0;
  for (const state of ALL_STATES) {
    for (const event of ALL_EVENTS) {
      const want = expectedFor(state, event);
      const machine = { state, previousState: state === 'failed' ? 'deploying' as State : state === 'maintenance' ? 'ready' as State : null, owner: null };
      if (!want) {
        assert.throws(() => applyEvent(machine, event, { owner: 'acme' }), (err: unknown) => {
          assert.ok(err instanceof IllegalTransition);
          assert.match(err.message, new RegExp(`cannot ${event} a machine that is ${state}; allowed: `));
          assert.deepEqual(err.allowed, allowedEvents(state));
          return true;
        }, `${state} ${event} must be refused`);
        refused++;
        continue;
      }
      const out = applyEvent(machine, event, { owner: 'acme' });
      const to = want.to === '(previous)' ? 'deploying' : want.to === '(resume)' ? 'ready' : want.to;
      assert.equal(out.to, to, `${state} ${event}`);
      assert.equal(out.from, state);
      allowed++;
    }
  }
  assert.equal(allowed, EXPECTED.length);
  assert.equal(allowed + refused, ALL_STATES.length * ALL_EVENTS.length);
});

test('failing keeps the state it failed from and why; retry returns there', () => {
  const failed = applyEvent({ state: 'deploying', previousState: null, owner: 'acme' }, 'error', { reason: 'sha256 mismatch' });
  assert.deepEqual(failed, { from: 'deploying', to: 'failed', event: 'error', previousState: 'deploying', owner: 'acme', lastError: 'sha256 mismatch' });
  const timedOut = applyEvent({ state: 'releasing', previousState: null, owner: null }, 'timeout');
  assert.equal(timedOut.lastError, 'timed out in releasing');
  const retried = applyEvent({ state: 'failed', previousState: 'deploying', owner: 'acme' }, 'retry');
  assert.deepEqual(retried, { from: 'failed', to: 'deploying', event: 'retry', previousState: null, owner: 'acme', lastError: null });
  assert.throws(() => applyEvent({ state: 'failed', previousState: null, owner: null }, 'retry'), /does not record which state it failed from/);
});

test('a failed erase is never followed by inspect or deploy (ready, or a deploy over the old data): only another erase', () => {
  const failedErase = { state: 'failed' as State, previousState: 'releasing' as State, owner: 'acme' };
  for (const event of ['inspect', 'deploy'] as const) {
    assert.throws(() => applyEvent(failedErase, event), /cannot (inspect|deploy) a machine whose erase failed: its disks may hold the previous tenant's data; retry or release erases them again/);
  }
  assert.equal(applyEvent(failedErase, 'retry').to, 'releasing');
  assert.equal(applyEvent(failedErase, 'release').to, 'releasing');
  assert.equal(applyEvent(failedErase, 'maintenance_on').to, 'maintenance');
  assert.equal(applyEvent({ ...failedErase, previousState: 'deploying' }, 'inspect').to, 'inspecting', 'other failures may be inspected');
});

test('maintenance remembers the state it interrupted', () => {
  const on = applyEvent({ state: 'deployed', previousState: null, owner: 'acme' }, 'maintenance_on');
  assert.equal(on.previousState, 'deployed');
  assert.equal(applyEvent({ state: 'maintenance', previousState: 'deployed', owner: 'acme' }, 'maintenance_off').to, 'deployed');
  const interrupted = applyEvent({ state: 'maintenance', previousState: 'deploying', owner: null }, 'maintenance_off');
  assert.deepEqual([interrupted.to, interrupted.previousState, interrupted.lastError], ['failed', 'deploying', 'maintenance interrupted deploying']);
  assert.equal(applyEvent({ state: 'maintenance', previousState: null, owner: null }, 'maintenance_off').to, 'enrolled');
});

test('owner: set by allocate (which needs one), cleared when the machine returns to the pool', () => {
  assert.throws(() => applyEvent({ state: 'ready', previousState: null, owner: null }, 'allocate'), /allocate needs an owner/);
  assert.equal(applyEvent({ state: 'ready', previousState: null, owner: null }, 'allocate', { owner: 'acme' }).owner, 'acme');
  assert.equal(applyEvent({ state: 'allocated', previousState: null, owner: 'acme' }, 'release').owner, null);
  assert.equal(applyEvent({ state: 'releasing', previousState: null, owner: 'acme' }, 'erased').owner, null);
  assert.equal(applyEvent({ state: 'releasing', previousState: null, owner: 'acme' }, 'redeploy').owner, null, 'the tenant let go');
});

test('only transitional states time out', () => {
  for (const s of ALL_STATES) {
    const t = timeoutFor(s);
    if (['inspecting', 'deploying', 'releasing'].includes(s)) assert.ok(t && t > 0, s);
    else assert.equal(t, undefined, s);
  }
  assert.equal(timeoutFor('deploying', { deploying: 90 }), 90);
});

test('the diagram is drawn from the table', () => {
  const d = mermaidDiagram();
  assert.match(d, /^stateDiagram-v2/);
  for (const x of EXPECTED) {
    const to = x.to === '(previous)' ? 'state_it_failed_from' : x.to === '(resume)' ? 'state_before_maintenance' : x.to;
    assert.ok(d.includes(`${x.from} --> ${to}: ${x.event}`), `${x.from} ${x.event}`);
  }
});
