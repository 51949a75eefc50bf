// The event feed on one daemon (SQLite: fed in process as events commit) and the long-poll on it:
// `GET /api/v1/events?after=ID&wait=S` answers as soon as an event after ID commits, holds no
// request for a client that went away, and refuses (503, counted) beyond its cap of held reads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestDaemon, type TestDaemon } from '../lib/daemon.js';
import { call } from '../lib/allocation.js';
import { EventSignal } from '../../daemon/core/event-feed.js';
import { act } from '../../daemon/core/actions.js';

const CAP = 3;
let d: TestDaemon;
before(async () => { d = await startTestDaemon({ serve: { maxHeldEventReads: CAP } }); });
after(async () => { await d.close(); });

const admin = (method: string, path: string, body?: unknown) => call(d.url, d.tokens.admin, method, path, body);
const newestId = async () => (await admin('GET', '/api/v1/events?limit=1')).body.events.at(-1).id as number;

/** The value of a metric without labels, from /metrics. */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${d.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  assert.ok(m, `${name} in /metrics`);
  return Number(m[1]);
}

async function until(what: string, ok: () => Promise<boolean>, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !(await ok());) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts a long-poll; resolves with its status, body and how long it took. */
function longPoll(after: number, wait: number, signal?: AbortSignal, token = d.tokens.admin) {
  const started = Date.now();
  return fetch(`${d.url}/api/v1/events?after=${after}&wait=${wait}`, { headers: { authorization: `Bearer ${token}` }, signal })
    .then(async (res) => ({ status: res.status, body: await res.json() as any, ms: Date.now() - started }));
}

test('the SQLite store\'s feed wakes a waiter when a transition commits, and not for a lost compare-and-set', async () => {
  const feed = d.daemon.store.eventFeed;
  const before = feed.newest();
  assert.equal(before, await newestId(), 'the feed starts from the newest event in the store');
  const woken = feed.waitFor(before, 5000);
  const { event } = await act(d.daemon.store, { machine: 'node-01', event: 'inspect', actor: 'test' });
  assert.equal(await woken, true);
  assert.equal(feed.newest(), event!.id);

  // A compare-and-set that loses writes nothing, and announces nothing.
  const lost = await d.daemon.store.transition({
    machine: 'node-01', actor: 'test', cause: null,
    outcome: { from: 'ready', to: 'maintenance', event: 'maintenance_on', previousState: 'ready', lastError: null, owner: null },
    operations: { endRunning: { state: 'cancelled', error: null }, start: null },
  });
  assert.equal(lost.ok, false);
  assert.equal(await feed.waitFor(event!.id, 100), false, 'no wake-up without a committed event');
  assert.equal(feed.newest(), event!.id);
});

test('a waiter times out, aborts, or is released by close; the signal only ever grows', async () => {
  const s = new EventSignal();
  s.advance(5);
  assert.equal(await s.waitFor(4, 1000), true, 'already newer: at once');
  assert.equal(await s.waitFor(5, 30), false, 'nothing newer: the timeout');
  const ac = new AbortController();
  const aborted = s.waitFor(5, 10_000, ac.signal);
  ac.abort();
  assert.equal(await aborted, false);
  s.advance(3);
  assert.equal(s.newest(), 5, 'an older id does not move it back');
  const seen: number[] = [];
  const off = s.subscribe((n) => seen.push(n));
  s.advance(7);
  off();
  s.advance(8);
  assert.deepEqual(seen, [7]);
  const pending = s.waitFor(8, 10_000);
  s.close();
  assert.equal(await pending, false);
  assert.equal(await s.waitFor(8, 10_000), false, 'closed: answers at once');
});

test('a long-poll answers as soon as an event commits, long before its wait', async () => {
  const after = await newestId();
  const poll = longPoll(after, 20);
  await until('the request to be held', async () => (await metric('rackhand_event_waits')) === 1);
  const moved = await admin('POST', '/api/v1/machines/node-02/actions/inspect', {});
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  const r = await poll;
  assert.equal(r.status, 200);
  assert.ok(r.ms < 2000, `answered in ${r.ms} ms`);
  assert.deepEqual(r.body.events.map((e: { machine: string; event: string }) => `${e.machine} ${e.event}`), ['node-02 inspect']);
  assert.equal(await metric('rackhand_event_waits'), 0);

  // Nothing new: it answers empty when the wait passes; with events already there, at once.
  const idle = await longPoll(r.body.events[0].id, 0.3);
  assert.deepEqual(idle.body.events, []);
  assert.ok(idle.ms >= 250, `held ${idle.ms} ms`);
  const ready = await longPoll(after, 20);
  assert.equal(ready.body.events.length, 1);
  assert.ok(ready.ms < 1000);
});

test('wait is bounded and needs after', async () => {
  const tooLong = await admin('GET', '/api/v1/events?after=0&wait=31');
  assert.equal(tooLong.status, 400);
  assert.equal(tooLong.body.error.field, 'query.wait');
  const noAfter = await admin('GET', '/api/v1/events?wait=5');
  assert.equal(noAfter.status, 400);
  assert.match(noAfter.body.error.message, /wait needs after/);
});

test('a held request is released when its client disconnects', async () => {
  const ac = new AbortController();
  const poll = longPoll(await newestId(), 25, ac.signal).catch((err: Error) => err);
  await until('the request to be held', async () => (await metric('rackhand_event_waits')) === 1);
  ac.abort();
  assert.ok((await poll) instanceof Error);
  await until('the hold to end', async () => (await metric('rackhand_event_waits')) === 0, 1000);
});

test('beyond the cap of held reads a request that would wait gets 503 BUSY, counted; one with events to read does not', async () => {
  const after = await newestId();
  const acs = Array.from({ length: CAP }, () => new AbortController());
  const held = acs.map((ac) => longPoll(after, 25, ac.signal).catch((err: Error) => err));
  await until('the cap to fill', async () => (await metric('rackhand_event_waits')) === CAP);
  const refusedBefore = await metric('rackhand_event_waits_refused_total');
  const over = await longPoll(after, 25);
  assert.equal(over.status, 503);
  assert.equal(over.body.error.code, 'BUSY');
  assert.ok(over.ms < 1000, 'refused at once');
  assert.equal(await metric('rackhand_event_waits_refused_total'), refusedBefore + 1);
  const readable = await longPoll(after - 1, 25);
  assert.equal(readable.status, 200, 'an answer that needs no wait is never refused');
  assert.equal(readable.body.events.length, 1);
  for (const ac of acs) ac.abort();
  await Promise.all(held);
  await until('the holds to end', async () => (await metric('rackhand_event_waits')) === 0, 1000);
  const again = longPoll(after, 0.2);
  assert.equal((await again).status, 200, 'room again once they left');
});

test('a tenant\'s long-poll is not answered with events outside its scope', async () => {
  const made = await admin('POST', '/api/v1/tokens', { owner: 'acme', name: 'acme-feed' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const after = await newestId();
  const poll = longPoll(after, 1, undefined, made.body.secret);
  await until('the request to be held', async () => (await metric('rackhand_event_waits')) === 1);
  assert.equal((await admin('POST', '/api/v1/machines/node-03/actions/inspect', {})).status, 200);
  const r = await poll;
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.events, [], 'woken by a pool machine\'s event, it reads again and keeps waiting');
  assert.ok(r.ms >= 900, `held the whole wait (${r.ms} ms)`);
});

test('shutting the daemon down answers its held requests at once instead of holding the drain', async () => {
  const other = await startTestDaemon();
  const after = (await call(other.url, other.tokens.admin, 'GET', '/api/v1/events?limit=1')).body.events.at(-1).id as number;
  const started = Date.now();
  const poll = fetch(`${other.url}/api/v1/events?after=${after}&wait=25`, { headers: { authorization: `Bearer ${other.tokens.admin}` } });
  await until('the request to be held', async () => /^rackhand_event_waits 1$/m.test(await (await fetch(`${other.url}/metrics`)).text()));
  await other.close();
  const res = await poll;
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json() as { events: unknown[] }).events, []);
  assert.ok(Date.now() - started < 5000, `answered in ${Date.now() - started} ms`);
});
