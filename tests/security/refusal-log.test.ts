// Issue 11, item 5: refusals are recorded without letting a flood grow the event table — one
// event per source per minute with the count, a bounded number of sources held in memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OTHER_SOURCES, RefusalLog } from '../../daemon/http/refusals.js';
import type { NewEvent } from '../../daemon/core/store/types.js';

function harness(maxSources?: number) {
  const events: NewEvent[] = [];
  let now = 0;
  const log = new RefusalLog(async (ev) => { events.push(ev); }, { now: () => now, timer: false, maxSources });
  return { log, events, advance: (ms: number) => { now += ms; log.tick(); } };
}
const r = { machine: 'node-01', why: 'not node-01\'s address', route: 'GET /boot/:mac.ipxe' };

test('a flood from one source: the first refusal at once, then one event a minute carrying the count', () => {
  const { log, events, advance } = harness();
  for (let i = 0; i < 10_000; i++) log.refuse('10.20.0.66', r);
  assert.equal(events.length, 1);
  assert.deepEqual(events[0]!.data, { source: '10.20.0.66', count: 1 });
  advance(30_000);
  assert.equal(events.length, 1, 'nothing more inside the minute');
  advance(30_000);
  assert.equal(events.length, 2);
  assert.deepEqual(events[1]!.data, { source: '10.20.0.66', count: 9_999 });
  for (let i = 0; i < 500; i++) log.refuse('10.20.0.66', r);
  advance(60_000);
  assert.deepEqual(events.map((e) => (e.data as { count: number }).count), [1, 9_999, 500]);
  advance(60_000);
  assert.equal(events.length, 3, 'a quiet minute closes the window without an event');
  log.refuse('10.20.0.66', r);
  assert.equal(events.length, 4, 'the next refusal opens a new window and is seen at once');
});

test('sources are bounded: past the limit they share one window', () => {
  const { log, events } = harness(100);
  for (let i = 0; i < 5_000; i++) log.refuse(`10.${i >> 16 & 255}.${i >> 8 & 255}.${i & 255}`, r);
  assert.equal(events.length, 101, '100 sources and one shared window');
  assert.equal(events.at(-1)!.actor, `http:${OTHER_SOURCES}`);
  log.flush();
  const counted = events.reduce((n, e) => n + (e.data as { count: number }).count, 0);
  assert.equal(counted, 5_000, 'every refusal is counted somewhere');
});
