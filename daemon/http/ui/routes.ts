// /ui: the dashboard. Sign-in trades an API token (checked by the API's own tokenResolver) for a
// session cookie; every other route needs a live session, and every POST its CSRF token (a hidden
// field, or the X-CSRF-Token header htmx sends from the page's hx-headers). Pages are rendered
// here on the server; htmx fetches the fragments (…/row, …/live) that live updates swap in.
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { ApiContext } from '../api/context.js';
import { digestResolver, tokenResolver } from '../api/authenticate.js';
import { tokenDigest, type Principal } from '../api/tokens.js';
import { ApiError } from '../errors.js';
import { domainError } from '../error-handler.js';
import { machineAction } from '../api/machine-actions.js';
import { html, type Html } from './html.js';
import { errorPage, signInPage, type PageContext } from './layout.js';
import { clearedCookie, csrfMatches, SessionBook, sessionCookie, sessionIdOf, type Session } from './sessions.js';
import { htmxSource, LIVE_JS, UI_CSS } from './assets.js';
import { machineListRoutes } from './machines-routes.js';
import { compressText } from './compress.js';
import { registerOverviewRoutes } from './overview-routes.js';
import { machineLive, machinePage, UI_ACTIONS } from './machine-page.js';
import { eventsFor, machineFor } from './scoped-reads.js';
import { eventStream } from './stream.js';
import { registerAllocationRoutes } from './allocations-routes.js';
import { registerTokenRoutes } from './tokens-routes.js';
import { machineRoutes } from './machine-routes.js';

// No inline script or style anywhere: a string that escaped escaping still could not run.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

interface Signed { session: Session; principal: Principal; pc: PageContext }
const signed = (res: Response): Signed => res.locals.signed as Signed;

export interface UiOptions { maxSessions?: number; maxStreams?: number }

export function uiRouter(ctx: ApiContext, opts: UiOptions = {}): Router {
  const router = Router();
  const sessions = new SessionBook(ctx.store, opts.maxSessions);
  const resolve = tokenResolver(ctx);
  const resolveDigest = digestResolver(ctx);
  const stream = eventStream(ctx, opts.maxStreams);
  const send = (res: Response, body: Html, status = 200) => void res.status(status).type('html').send(body.text);

  router.use((req, res, next) => {
    res.set({ 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin', 'Cache-Control': 'no-store', 'X-Frame-Options': 'DENY' });
    // A cross-site POST is refused before anything else (sign-in included: no login CSRF).
    if (req.method === 'POST' && !sameOrigin(req)) return send(res, errorPage(403, 'cross-site request refused'), 403);
    next();
  });
  router.use(compressText());
  // Up to 100 ticked rows of the machines list (bulk actions) and a few fields more.
  router.use(express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 120 }));

  const asset = (type: string, body: () => string) => (_req: Request, res: Response) => void res.set('Cache-Control', 'max-age=3600').type(type).send(body());
  router.get('/assets/htmx.min.js', asset('text/javascript', htmxSource));
  router.get('/assets/live.js', asset('text/javascript', () => LIVE_JS));
  router.get('/assets/ui.css', asset('text/css', () => UI_CSS));

  router.get('/sign-in', (_req, res) => send(res, signInPage()));
  router.post('/sign-in', async (req, res) => {
    const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
    try {
      if (!token) throw new ApiError('UNAUTHENTICATED', 'enter a token');
      await resolve(token);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') return send(res, signInPage(err.message), 401);
      throw err;
    }
    const s = await sessions.open(tokenDigest(token));
    res.set('Set-Cookie', sessionCookie(s.id, req.secure)).redirect(303, '/ui/');
  });

  // Everything below needs a live session whose token still works.
  router.use(async (req, res, next) => {
    const session = await sessions.find(sessionIdOf(req.get('cookie')));
    let principal: Principal | undefined;
    if (session) {
      try { principal = await resolveDigest(session.tokenDigest); } catch (err) {
        if (!(err instanceof ApiError && err.code === 'UNAUTHENTICATED')) throw err;
        await sessions.close(session.id); // revoked, expired or removed: the session goes with it
      }
    }
    if (!session || !principal) {
      if (req.method !== 'GET') return send(res, errorPage(401, 'sign in first'), 401);
      if (req.get('hx-request')) return void res.set('HX-Redirect', '/ui/sign-in').status(401).end();
      return res.redirect(303, '/ui/sign-in');
    }
    if (req.method === 'POST' && !csrfMatches(session.csrf, req.get('x-csrf-token') ?? req.body?._csrf)) {
      return send(res, errorPage(403, 'missing or wrong CSRF token: reload the page and try again'), 403);
    }
    res.locals.signed = { session, principal, pc: { principal, csrf: session.csrf, after: ctx.eventFeed?.newest() } } satisfies Signed;
    next();
  });

  router.post('/sign-out', async (_req, res) => {
    await sessions.close(signed(res).session.id);
    res.set('Set-Cookie', clearedCookie()).redirect(303, '/ui/sign-in');
  });

  registerOverviewRoutes(router, ctx);
  machineListRoutes(router, ctx);
  router.get('/machines/:name', async (req, res) => {
    const { principal, pc } = signed(res);
    const m = await machineFor(ctx, principal, req.params.name);
    send(res, machinePage(pc, m, await eventsFor(ctx, principal, { machine: m.name, limit: 50 })));
  });
  router.get('/machines/:name/live', async (req, res) => {
    const { principal, pc } = signed(res);
    const m = await machineFor(ctx, principal, req.params.name);
    send(res, machineLive(pc, m, await eventsFor(ctx, principal, { machine: m.name, limit: 50 })));
  });
  router.post('/machines/:name/actions/:event', async (req, res) => {
    const { principal } = signed(res);
    const { name, event } = req.params;
    if (!(UI_ACTIONS as readonly string[]).includes(event)) throw new ApiError('NOT_FOUND', `no action ${event} here`);
    // The machine is looked up first, so a tenant learns nothing of another's machines.
    await machineFor(ctx, principal, name);
    let notice: Html;
    try {
      const r = await machineAction(ctx, principal, name, event, {}, 'the dashboard');
      notice = html`${name}: ${event} accepted, now ${r.machine.state}.`;
    } catch (err) {
      const e = err instanceof ApiError ? err : domainError(err);
      // Refused by the rules (read-only, a tenant, the state): the page says why; a forged
      // request by a read-only token is still a 403.
      if (!e) throw err;
      if (e.code === 'FORBIDDEN' || !req.get('hx-request')) return send(res, errorPage(e.status, e.message, signed(res).pc), e.status);
      notice = html`<span class="error">${name}: ${event} refused: ${e.message}</span>`;
    }
    if (!req.get('hx-request')) return res.redirect(303, `/ui/machines/${encodeURIComponent(name)}`);
    send(res, notice);
  });
  router.get('/events/stream', (req, res) => stream(req, res, signed(res).principal, () => resolveDigest(signed(res).session.tokenDigest).then(() => true,
    (err) => !(err instanceof ApiError && err.code === 'UNAUTHENTICATED'))));
  registerAllocationRoutes(router, ctx);
  registerTokenRoutes(router, ctx);
  machineRoutes(router, ctx);

  // The dashboard's errors are pages, not the API's JSON.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = err instanceof ApiError ? err : domainError(err);
    if (!e || res.headersSent) return next(err);
    send(res, errorPage(e.status, e.message, res.locals.signed ? signed(res).pc : undefined), e.status);
  });
  return router;
}

/**
 * A POST's Origin (when the browser sends one) must be this server: no cross-site form posts. (The
 * pages' Referrer-Policy is same-origin, not no-referrer: under no-referrer a browser sends Origin: null.)
 */
function sameOrigin(req: Request): boolean {
  const origin = req.get('origin');
  if (!origin) return true;
  try { return new URL(origin).host === req.get('host'); } catch { return false; }
}
