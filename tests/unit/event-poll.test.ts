// The CLI's event poller against daemons that answer differently: one from before `wait` (it
// refuses the parameter as an unknown field), one that answers at once with nothing, one whose
// database is restarting (500). The client side only: the daemon's side is event-feed.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventPoller, type Event } from '../../daemon/cli/event-poll.js';
import { CliError, type ApiClient } from '../../daemon/cli/client.js';

const event = (id: number): Event => ({ id, time: '', machine: 'm', kind: 'transition', event: 'inspect', from: null, to: null, cause: null, actor: 'x' });

/** An ApiClient whose GET answers come from `answer` (a path in, events out or an error thrown). */
function daemon(answer: (path: string, n: number) => Event[]): ApiClient & { paths: string[]; times: number[] } {
  const paths: string[] = [];
  const times: number[] = [];
  return {
    paths, times,
    async get<T>(path: string) { paths.push(path); times.push(Date.now()); return { events: answer(path, paths.length) } as T; },
    post: () => Promise.reject(new Error('no')),
    del: () => Promise.reject(new Error('no')),
  };
}

test('a daemon from before wait: the poller drops it and polls, pausing between empty reads', async () => {
  const old = daemon((path, n) => {
    if (path.includes('wait=')) throw new CliError('query.wait: unknown field', 1, { status: 400, field: 'query.wait' });
    return n === 4 ? [event(8)] : [];
  });
  const next = eventPoller(old, new URLSearchParams({ machine: 'm' }), { waitS: 25, pollMs: 100 });
  assert.deepEqual(await next(7), [], 'the refused long-poll becomes a plain read');
  assert.deepEqual((await next(7)).map((e) => e.id), []);
  assert.deepEqual((await next(7)).map((e) => e.id), [8]);
  assert.match(old.paths[0]!, /machine=m&after=7&limit=1000&wait=25/);
  assert.ok(old.paths.slice(1).every((p) => !p.includes('wait=')), 'asked once, then never again');
  assert.ok(old.times[3]! - old.times[2]! >= 90, 'an empty read waits the poll interval before the next');
});

test('a daemon that answers at once with nothing is not asked in a tight loop; 5xx is retried, other errors are not', async () => {
  const quick = daemon(() => []);
  const next = eventPoller(quick, new URLSearchParams(), { waitS: 25, pollMs: 100 });
  const start = Date.now();
  for (let i = 0; i < 3; i++) await next(1);
  assert.ok(Date.now() - start >= 280, `three empty reads took ${Date.now() - start} ms`);

  const restarting = daemon((_p, n) => {
    if (n < 3) throw new CliError('internal error', 1, { status: 500 });
    return [event(2)];
  });
  assert.deepEqual((await eventPoller(restarting, new URLSearchParams(), { waitS: 25, pollMs: 10 })(1)).map((e) => e.id), [2]);
  assert.equal(restarting.paths.length, 3);

  const forbidden = daemon(() => { throw new CliError('no', 1, { status: 403 }); });
  await assert.rejects(eventPoller(forbidden, new URLSearchParams(), { waitS: 25, pollMs: 10 })(1), /no/);
});
