// GET /ui/events/stream: Server-Sent Events telling an open page which machines' histories moved.
// Fed by the store's event feed (every committed event, from any daemon on a shared PostgreSQL):
// when the feed advances, the stream reads the new events through the principal's scope and sends
// each machine's name once (`event: machine`), then `event: any`. It sends names only; the page
// fetches the HTML itself, through the same checks as any page. Streams are capped per daemon
// (each is a socket any signed-in token can open), send a comment every HEARTBEAT_MS so proxies
// and the browser know the line is alive, and end when the feed closes (the daemon shutting down).
import type { Request, Response } from 'express';
import type { ApiContext } from '../api/context.js';
import type { Principal } from '../api/tokens.js';
import { isTenant } from '../api/scope.js';
import { ownEvents } from '../api/events.js';

export const HEARTBEAT_MS = 15_000;
export const DEFAULT_MAX_STREAMS = 200;
/** The longest a timer may be: the wait below ends on the feed's close or the client's leaving. */
const FOREVER_MS = 2 ** 31 - 1;
const MAX_BEHIND = 1000;

export function eventStream(ctx: ApiContext, maxStreams = DEFAULT_MAX_STREAMS) {
  let open = 0;
  // `valid` says whether the session's token still works (checked before each send and at each
  // heartbeat): a revoked token's open page stops hearing anything, and the stream ends.
  return async (req: Request, res: Response, principal: Principal, valid: () => Promise<boolean> = async () => true) => {
    const feed = ctx.eventFeed;
    if (!feed) return void res.status(503).type('text/plain').send('no event feed on this daemon');
    if (open >= maxStreams) return void res.status(503).set('Retry-After', '10').type('text/plain').send(`this daemon already serves ${maxStreams} live streams`);
    open++;
    const gone = new AbortController();
    const latest = Math.max(feed.newest(), (await ctx.store.listEvents({ limit: 1 }))[0]?.id ?? 0);
    // From where the page's reads began (`after`), so nothing committed in between is lost; at
    // most MAX_BEHIND events back, whatever a client asks.
    // A reconnecting browser sends the last id it was told (Last-Event-ID); a new page its `after`.
    const after = Number(req.get('last-event-id') ?? req.query.after);
    let cursor = Number.isSafeInteger(after) && after >= 0 ? Math.min(latest, Math.max(after, latest - MAX_BEHIND)) : latest;
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no', Connection: 'keep-alive' });
    res.write('retry: 3000\n: live\n\n');
    let reading: Promise<void> | undefined;
    let again = false;
    const send = async () => {
      // Read until the cursor reaches the feed; one read at a time, a wake during it reads again.
      do {
        again = false;
        const events = await ctx.store.listEvents({ afterId: cursor, limit: 1000 });
        if (!events.length) continue;
        cursor = events[events.length - 1]!.id;
        const seen = isTenant(principal) ? await ownEvents(ctx.store, principal.owner, events) : events;
        const names = [...new Set(seen.map((e) => e.machine).filter((m): m is string => !!m))];
        if (gone.signal.aborted) return;
        if (!(await valid())) return void gone.abort();
        for (const name of names) res.write(`event: machine\ndata: ${JSON.stringify(name)}\n\n`);
        if (seen.length) res.write(`id: ${cursor}\nevent: any\ndata: ${cursor}\n\n`);
        if (events.length === 1000) again = true;
      } while (again && !gone.signal.aborted);
    };
    const wake = () => {
      if (reading) { again = true; return; }
      reading = send().catch((err) => ctx.logger.warn({ err }, 'a live stream could not read events')).finally(() => { reading = undefined; if (again) wake(); });
    };
    const unsubscribe = feed.subscribe((newest) => { if (newest > cursor) wake(); });
    if (cursor < latest) wake();
    const heartbeat = setInterval(() => {
      void valid().then((ok) => (ok ? res.write(': heartbeat\n\n') : gone.abort()), () => gone.abort());
    }, HEARTBEAT_MS);
    heartbeat.unref();
    res.once('close', () => gone.abort());
    try {
      // Resolves when the client leaves (abort) or the feed closes (shutdown); never on an event.
      await feed.waitFor(Number.MAX_SAFE_INTEGER, FOREVER_MS, gone.signal);
    } finally {
      unsubscribe();
      clearInterval(heartbeat);
      open--;
      if (!res.writableEnded) res.end();
    }
  };
}
