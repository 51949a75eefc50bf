// Reading the event log forward for `events --follow` and `--wait`: each call asks for the events
// after the last one seen and lets the daemon hold the request until one commits (`wait`), so a
// change made through any daemon on the database shows at once instead of at the next poll.
// A daemon from before `wait` refuses the parameter (400 naming query.wait): then this polls as
// the CLI did, sleeping between reads. A daemon answering 5xx (its database restarting, too
// many waiting requests) is retried, said once; one that cannot be reached, as patiently() does.
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, patiently, type ApiClient } from './client.js';

export type Event = { id: number; time: string; machine: string | null; kind: string; event: string | null; from: string | null; to: string | null; cause: string | null; actor: string };

export interface PollOptions {
  /** Seconds the daemon may hold each read. */
  waitS: number;
  /** The least time between two reads that found nothing (the old polling interval). */
  pollMs: number;
}

/** Returns `next(after)`: the events after that id matching `filters` (machine=…), oldest first. */
export function eventPoller(api: ApiClient, filters: URLSearchParams, o: PollOptions): (after: number) => Promise<Event[]> {
  let longPoll = true;
  let troubled = false;
  return async function next(after: number): Promise<Event[]> {
    for (;;) {
      const q = new URLSearchParams(filters);
      q.set('after', String(after));
      q.set('limit', '1000');
      if (longPoll) q.set('wait', String(o.waitS));
      const started = Date.now();
      try {
        const { events } = await patiently(() => api.get<{ events: Event[] }>(`/api/v1/events?${q}`));
        troubled = false;
        // Nothing, early (a daemon that did not hold the read): never a tight loop of requests.
        const rest = o.pollMs - (Date.now() - started);
        if (!events.length && rest > 0) await sleep(rest);
        return events;
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        if (longPoll && err.answer.status === 400 && err.answer.field === 'query.wait') {
          longPoll = false;
          continue;
        }
        if ((err.answer.status ?? 0) < 500) throw err;
        if (!troubled) process.stderr.write(`rackhand: ${err.message}; retrying\n`);
        troubled = true;
        await sleep(o.pollMs);
      }
    }
  };
}
