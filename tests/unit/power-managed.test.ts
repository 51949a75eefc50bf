import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManagedPower, backoffDelays, DEFAULT_RETRY } from '../../daemon/power/managed.js';
import { KeyedQueue } from '../../daemon/power/queue.js';
import { PowerError } from '../../daemon/power/errors.js';
import { FakeDriver } from '../fixtures/power/fake-driver.js';
import { createPowerMetrics } from '../../daemon/power/metrics.js';
import { createRegistry } from '../../daemon/metrics.js';

function wrap(d: FakeDriver, over: Partial<ConstructorParameters<typeof ManagedPower>[1]> = {}) {
  const sleeps: number[] = [];
  const p = new ManagedPower(d, {
    machine: d.machine, queue: new KeyedQueue(), poll: { interval: 1000, timeout: 5000 },
    sleep: async (ms) => { sleeps.push(ms); }, ...over,
  });
  return { p, sleeps };
}

test('backoff doubles from the initial delay up to the cap', () => {
  assert.deepEqual(backoffDelays({ retries: 6, initial: 500, factor: 2, max: 8000 }), [500, 1000, 2000, 4000, 8000, 8000]);
  assert.deepEqual(backoffDelays(DEFAULT_RETRY), [500, 1000, 2000]);
});

test('transient errors (UNREACHABLE, TIMEOUT) are retried with backoff, then succeed', async () => {
  const d = new FakeDriver();
  d.failures = ['UNREACHABLE', 'TIMEOUT'];
  const { p, sleeps } = wrap(d);
  assert.equal(await p.status(), 'off');
  assert.deepEqual(sleeps, [500, 1000]);
  assert.equal(d.calls.length, 3);
});

test('retries run out → the last transient error', async () => {
  const d = new FakeDriver();
  d.failures = ['UNREACHABLE', 'UNREACHABLE', 'UNREACHABLE', 'UNREACHABLE', 'UNREACHABLE'];
  const notes: string[] = [];
  const { p, sleeps } = wrap(d, { onNote: (n) => notes.push(n.outcome) });
  await assert.rejects(p.status(), (e: PowerError) => e.code === 'UNREACHABLE' && /fake-01/.test(e.message));
  assert.deepEqual(sleeps, [500, 1000, 2000]);
  assert.deepEqual(notes, ['retry', 'retry', 'retry', 'failed']);
});

for (const code of ['AUTH_FAILED', 'UNSUPPORTED', 'BMC_ERROR', 'CONFIG'] as const) {
  test(`${code} is not retried`, async () => {
    const d = new FakeDriver();
    d.failures = [code];
    const { p, sleeps } = wrap(d);
    await assert.rejects(p.on(), (e: PowerError) => e.code === code);
    assert.equal(d.calls.length, 1);
    assert.deepEqual(sleeps, []);
  });
}

test('on: the state is polled until it matches', async () => {
  const d = new FakeDriver();
  d.lag = 3;
  const { p, sleeps } = wrap(d);
  assert.equal(await p.on(), 'on');
  assert.deepEqual(d.calls.map((c) => c.name), ['on', 'status', 'status', 'status', 'status']);
  assert.deepEqual(sleeps, [1000, 1000, 1000]);
});

test('a state that never comes → TIMEOUT naming what was asked and what was seen', async () => {
  const d = new FakeDriver();
  d.lag = 100;
  const { p } = wrap(d);
  await assert.rejects(p.on(), (e: PowerError) => e.code === 'TIMEOUT' && /asked for on, still off after 5000 ms/.test(e.message));
});

test('cycle waits for on again', async () => {
  const d = new FakeDriver();
  d.state = 'on';
  d.lag = 2;
  const { p } = wrap(d);
  assert.equal(await p.cycle(), 'on');
  assert.deepEqual(d.calls.map((c) => c.name), ['cycle', 'status', 'status', 'status']);
});

test('a call that never answers times out (TIMEOUT, retried, then given up)', async () => {
  const d = new FakeDriver();
  d.hang = true;
  const { p, sleeps } = wrap(d, { callTimeout: 30, retry: { retries: 1 } });
  await assert.rejects(p.status(), (e: PowerError) => e.code === 'TIMEOUT' && /within 3\d ms/.test(e.message));
  assert.deepEqual(sleeps, [500]);
});

test('calls to one BMC are serialized, whole operations at a time; other BMCs run alongside', async () => {
  const queue = new KeyedQueue();
  const a = new FakeDriver('10.0.0.1:623', 'a'), b = new FakeDriver('10.0.0.1:623', 'b'), c = new FakeDriver('10.0.0.2:623', 'c');
  for (const d of [a, b, c]) { d.latency = 20; d.lag = 1; }
  const mk = (d: FakeDriver) => new ManagedPower(d, { machine: d.machine, queue, poll: { interval: 5, timeout: 1000 } });
  const t0 = performance.now();
  await Promise.all([mk(a).on(), mk(b).on(), mk(c).on()]);
  const lastA = Math.max(...a.calls.map((x) => x.end));
  assert.ok(b.calls[0]!.start >= lastA, 'b started after all of a (poll included)');
  assert.ok(c.calls[0]!.start < lastA, 'c, on another BMC, did not wait');
  assert.ok(performance.now() - t0 >= 6 * 20);
  assert.equal(queue.busy, 0);
});

test('a failure does not block the queue', async () => {
  const queue = new KeyedQueue();
  const d = new FakeDriver();
  d.failures = ['AUTH_FAILED'];
  const p = new ManagedPower(d, { machine: 'x', queue });
  const [r1, r2] = await Promise.allSettled([p.status(), p.status()]);
  assert.equal(r1.status, 'rejected');
  assert.equal(r2.status, 'fulfilled');
});

test('a non-PowerError from a driver becomes BMC_ERROR with the machine name', async () => {
  const d = new FakeDriver();
  d.getPowerState = async () => { throw new TypeError('boom'); };
  const { p } = wrap(d);
  await assert.rejects(p.status(), (e: PowerError) => e instanceof PowerError && e.code === 'BMC_ERROR' && /fake-01: power status/.test(e.message));
});

test('metrics count outcomes and retries by driver and action', async () => {
  const registry = createRegistry({ defaults: false });
  const d = new FakeDriver();
  d.failures = ['UNREACHABLE'];
  const { p } = wrap(d, { metrics: createPowerMetrics(registry) });
  await p.status();
  d.failures = ['AUTH_FAILED'];
  await p.on().catch(() => undefined);
  const text = await registry.metrics();
  assert.match(text, /rackhand_power_operations_total\{driver="ipmi",action="status",outcome="retry"\} 1/);
  assert.match(text, /rackhand_power_operations_total\{driver="ipmi",action="status",outcome="ok"\} 1/);
  assert.match(text, /rackhand_power_operations_total\{driver="ipmi",action="on",outcome="failed"\} 1/);
  assert.match(text, /rackhand_power_operation_seconds_count\{driver="ipmi",action="status"\} 1/);
});

test('a cycle whose answer is lost is never sent again: the state decides (one reset)', async () => {
  const d = new FakeDriver();
  d.state = 'on';
  d.lag = 2;
  d.failures = [{ code: 'TIMEOUT', acted: true }];
  const notes: string[] = [];
  const { p } = wrap(d, { onNote: (n) => notes.push(`${n.action}:${n.outcome}`) });
  assert.equal(await p.cycle(), 'on');
  assert.deepEqual(d.calls.map((c) => c.name), ['cycle', 'status', 'status', 'status']);
  assert.deepEqual(notes, ['cycle:unanswered', 'cycle:ok']);
});

test('on whose answer is lost and whose state never follows: TIMEOUT that says why, still one on', async () => {
  const d = new FakeDriver();
  d.failures = [{ code: 'UNREACHABLE' }];
  const { p } = wrap(d);
  await assert.rejects(p.on(), (e: PowerError) => e.code === 'TIMEOUT' && /still off after 5000 ms; the BMC never answered the request \(fake UNREACHABLE\) and it was not sent again/.test(e.message));
  assert.equal(d.calls.filter((c) => c.name === 'on').length, 1);
});

test('a change that certainly never reached the BMC is retried with backoff', async () => {
  const d = new FakeDriver();
  d.failures = [{ code: 'UNREACHABLE', notSent: true }, { code: 'TIMEOUT', notSent: true }];
  const { p, sleeps } = wrap(d);
  assert.equal(await p.on(), 'on');
  assert.deepEqual(d.calls.map((c) => c.name), ['on', 'on', 'on', 'status']);
  assert.deepEqual(sleeps, [500, 1000]);
});

test('a task the BMC started is followed; its failure is the error, in its own words', async () => {
  const d = new FakeDriver();
  d.task = [{ state: 'running' }, { state: 'failed', message: 'Oem.1.0.PowerSupplyFault: PSU 2 lost input' }];
  const { p } = wrap(d);
  await assert.rejects(p.on(), (e: PowerError) => e.code === 'BMC_ERROR' && /task \/redfish\/v1\/TaskMonitors\/1 failed: Oem.1.0.PowerSupplyFault: PSU 2 lost input/.test(e.message));
  assert.deepEqual(d.calls.map((c) => c.name), ['on', 'task', 'task']);
});

test('a task that completes is followed by the state poll', async () => {
  const d = new FakeDriver();
  d.state = 'on';
  d.lag = 1;
  d.task = [{ state: 'running' }, { state: 'completed' }];
  const { p } = wrap(d);
  assert.equal(await p.cycle(), 'on');
  assert.deepEqual(d.calls.map((c) => c.name), ['cycle', 'task', 'task', 'status', 'status']);
});

test('a task that never ends: TIMEOUT within the poll bound', async () => {
  const d = new FakeDriver();
  d.task = Array.from({ length: 100 }, () => ({ state: 'running' as const }));
  const { p } = wrap(d);
  await assert.rejects(p.on(), (e: PowerError) => e.code === 'TIMEOUT' && /still running after 5000 ms/.test(e.message));
});
