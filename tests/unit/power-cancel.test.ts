// Abandoned BMC calls and the readers' status cache, on the scripted driver: a caller that
// leaves is dequeued at once, a running read is aborted, a running power change is not, and
// readers share one BMC call per cache window. (tests/security/power-reads.test.ts does the same
// against a real BMC through the daemon.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManagedPower } from '../../daemon/power/managed.js';
import { KeyedQueue } from '../../daemon/power/queue.js';
import { PowerError } from '../../daemon/power/errors.js';
import { PowerStatusCache } from '../../daemon/power/status-cache.js';
import { FakeDriver } from '../fixtures/power/fake-driver.js';

const managed = (d: FakeDriver, queue: KeyedQueue, over: Partial<ConstructorParameters<typeof ManagedPower>[1]> = {}) =>
  new ManagedPower(d, { machine: d.machine, queue, poll: { interval: 5, timeout: 1000 }, ...over });
const cancelled = (e: unknown) => e instanceof PowerError && e.code === 'CANCELLED';
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

test('the queue: a waiting caller that leaves is rejected at once and never runs; the next one runs on', async () => {
  const q = new KeyedQueue();
  const ran: string[] = [];
  const job = (name: string, ms: number) => async () => { ran.push(name); await tick(ms); return name; };
  const first = q.run('bmc', job('first', 50));
  const ac = new AbortController();
  const leaver = q.run('bmc', job('leaver', 1000), ac.signal);
  const last = q.run('bmc', job('last', 1));
  assert.equal(q.waiting('bmc'), 2);
  let firstDone = false;
  void first.then(() => { firstDone = true; });
  ac.abort();
  await assert.rejects(leaver, (e: Error) => e.name === 'AbortError');
  assert.equal(firstDone, false, 'rejected at once, not at its turn');
  assert.equal(q.waiting('bmc'), 1);
  assert.equal(await first, 'first');
  assert.equal(await last, 'last');
  assert.deepEqual(ran, ['first', 'last']);
  await tick();
  assert.equal(q.busy, 0, 'an idle key is dropped');
  await assert.rejects(q.run('bmc', job('never', 1), ac.signal), (e: Error) => e.name === 'AbortError');
  assert.deepEqual(ran, ['first', 'last'], 'an already-aborted caller is not queued');
});

test('a running status read is aborted when its caller leaves: no retry, no failure note, the queue moves on', async () => {
  const q = new KeyedQueue();
  const d = new FakeDriver();
  d.hang = true;
  const notes: string[] = [];
  const p = managed(d, q, { onNote: (n) => notes.push(`${n.action}:${n.outcome}`), callTimeout: 60_000 });
  const ac = new AbortController();
  const read = p.status({ signal: ac.signal });
  await tick(10);
  ac.abort(); // the driver hangs and the timeout is a minute: only the abort can end this read
  await assert.rejects(read, cancelled);
  assert.equal(d.calls.length, 1, 'not retried');
  d.hang = false;
  assert.equal(await p.status(), 'off', 'the next caller is not held up');
  assert.deepEqual(notes, ['status:ok'], 'an abandoned read writes no event');
});

test('a power change already running is not aborted; one still waiting is dequeued and never sent', async () => {
  const q = new KeyedQueue();
  const d = new FakeDriver();
  d.latency = 40;
  const p = managed(d, q);
  const running = new AbortController();
  const waiting = new AbortController();
  const on = p.on({ signal: running.signal });
  const off = p.off({ signal: waiting.signal });
  await tick(10);
  running.abort();
  waiting.abort();
  await assert.rejects(off, cancelled);
  assert.equal(await on, 'on', 'the change ran to its end');
  assert.deepEqual(d.calls.map((c) => c.name), ['on', 'status']);
  assert.equal(d.state, 'on');
});

test('readers: concurrent reads share one BMC call; within the window the cache answers; after it, one new call', async () => {
  let now = 1_000_000;
  const cache = new PowerStatusCache({ ttlMs: 5000, now: () => now });
  const d = new FakeDriver();
  d.latency = 20;
  const p = managed(d, new KeyedQueue());
  const reads = await Promise.all(Array.from({ length: 50 }, () => cache.read('fake-01', p)));
  assert.equal(d.calls.length, 1);
  assert.ok(reads.every((r) => r.state === 'off' && !r.cached));
  now += 4000;
  const again = await cache.read('fake-01', p);
  assert.equal(again.cached, true);
  assert.equal(d.calls.length, 1);
  now += 1001;
  await Promise.all([cache.read('fake-01', p), cache.read('fake-01', p)]);
  assert.equal(d.calls.length, 2, 'a stale entry costs one call for all its readers');
});

test('readers: a BMC failure is cached for the window too', async () => {
  const cache = new PowerStatusCache({ ttlMs: 5000 });
  const d = new FakeDriver();
  d.failures = ['AUTH_FAILED'];
  const p = managed(d, new KeyedQueue());
  for (let i = 0; i < 5; i++) await assert.rejects(cache.read('fake-01', p), (e: PowerError) => e.code === 'AUTH_FAILED');
  assert.equal(d.calls.length, 1);
});

test('readers: the shared call lives while one reader waits, and is aborted when the last one leaves', async () => {
  const cache = new PowerStatusCache();
  const d = new FakeDriver();
  d.hang = true;
  const p = managed(d, new KeyedQueue(), { callTimeout: 60_000 });
  const a = new AbortController(), b = new AbortController();
  const ra = cache.read('fake-01', p, { signal: a.signal });
  const rb = cache.read('fake-01', p, { signal: b.signal });
  await tick(10);
  a.abort();
  await assert.rejects(ra, cancelled);
  await tick(10);
  assert.equal(cache.inFlight, 1, 'b still waits on it');
  b.abort();
  await assert.rejects(rb, cancelled);
  assert.equal(cache.inFlight, 0);
  d.hang = false;
  const r = await cache.read('fake-01', p);
  assert.equal(r.cached, false, 'a cancelled call was not cached');
  assert.equal(d.calls.length, 2);
});

test('readers of many machines on one BMC put at most one status call in its queue ahead of an operator', async () => {
  const bmc = new KeyedQueue();
  const cache = new PowerStatusCache();
  const drivers = ['m1', 'm2', 'm3', 'm4'].map((name) => Object.assign(new FakeDriver('10.0.0.9:623', name), { latency: 30 }));
  const powers = drivers.map((d) => managed(d, bmc));
  const op = powers[0]!.on();                            // the operator's call holds the BMC
  const readers = powers.slice(1).flatMap((p, i) => Array.from({ length: 10 }, () => cache.read(`m${i + 2}`, p)));
  await tick(5);
  assert.equal(bmc.waiting('10.0.0.9:623'), 1, '30 readers of 3 machines: one queued call');
  const second = powers[0]!.off();                       // the operator's next call waits for one read at most
  await op;
  await second;
  const offAt = drivers[0]!.calls.find((c) => c.name === 'off')!.start;
  const readsBefore = drivers.slice(1).flatMap((d) => d.calls).filter((c) => c.start < offAt).length;
  assert.equal(readsBefore, 1, 'one reader call between the operator\'s two calls');
  await Promise.all(readers);
  assert.deepEqual(drivers.slice(1).map((d) => d.calls.length), [1, 1, 1]);
});
