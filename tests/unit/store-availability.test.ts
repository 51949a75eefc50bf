// StoreAvailability: which failures mean "the store is away", one notice when an outage starts and
// one when it ends however many calls fail meanwhile, and probing with backoff until it answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asStoreError, isConnectionFailure, StoreAvailability, StoreUnavailable } from '../../daemon/core/store/availability.js';

test('connection failures are recognised; refusals of what was asked are not', () => {
  const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  for (const e of [coded('ECONNREFUSED'), coded('ECONNRESET'), coded('57P01', 'terminating connection due to administrator command'),
    coded('57P03', 'the database system is starting up'), coded('08006'), new Error('Connection terminated unexpectedly'),
    new Error('Connection terminated due to connection timeout'), new Error('timeout exceeded when trying to connect'),
    Object.assign(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]), { message: '' })]) {
    assert.equal(isConnectionFailure(e), true, String(e.message || (e as { code?: string }).code));
    assert.ok(asStoreError(e) instanceof StoreUnavailable);
  }
  for (const e of [coded('23505', 'duplicate key'), coded('40001'), coded('53300', 'too many connections'), new Error('no such machine'), 'text', null]) {
    assert.equal(isConnectionFailure(e), false, String(e));
    assert.equal(asStoreError(e), e);
  }
});

test('an outage is told once when it starts and once when it ends, probed with doubling delays meanwhile', async () => {
  let up = false;
  const probes: number[] = [];
  const t0 = Date.now();
  const a = new StoreAvailability({
    minMs: 20, maxMs: 80,
    probe: async () => { probes.push(Date.now() - t0); if (!up) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }); },
  });
  const told: string[] = [];
  a.listen({ down: (o) => told.push(`down ${o.reason}`), up: (_o, ms) => told.push(`up ${ms >= 0}`) });
  assert.equal(a.available, true);
  for (let i = 0; i < 50; i++) a.failed(new StoreUnavailable('connect ECONNREFUSED'));
  assert.equal(a.available, false);
  assert.deepEqual(told, ['down connect ECONNREFUSED']);
  await new Promise((r) => setTimeout(r, 350));
  // 20, 40, 80, 80 ms apart: four or five probes, not one per 20 ms.
  assert.ok(probes.length >= 3 && probes.length <= 6, `probes at ${probes.join(', ')} ms`);
  up = true;
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(a.available, true, 'a probe found it back without any request');
  assert.deepEqual(told, ['down connect ECONNREFUSED', 'up true']);
  const after = probes.length;
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(probes.length, after, 'no probing while it answers');
  a.succeeded();
  assert.equal(told.length, 2);
  a.close();
});

test('a probe after an idle connection broke: only that connection, no outage', async () => {
  const a = new StoreAvailability({ probe: async () => {} });
  const told: string[] = [];
  a.listen({ down: () => told.push('down'), up: () => told.push('up') });
  await a.check();
  assert.deepEqual(told, []);
  a.close();
});

test('an answer to a call sent before the outage began does not end it', () => {
  let now = 1000;
  const a = new StoreAvailability({ probe: async () => {}, now: () => now });
  a.failed(new StoreUnavailable('Connection terminated unexpectedly'));
  a.succeeded(999);
  assert.equal(a.available, false, 'its result came in just before the connection broke');
  now = 1500;
  a.succeeded(1200);
  assert.equal(a.available, true);
  a.close();
});
