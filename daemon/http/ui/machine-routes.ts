// The machine page's own routes (its sections: machine-sections.ts), registered on the dashboard's
// router after sign-in and CSRF checks (routes.ts): power state on demand and power actions
// through the API's own code (api/power.ts), the machine's operations with the latest one's log
// (api/operations.ts), and its boot trace. Operations and the trace are operators' (as in the
// API: a machine's past may belong to an earlier tenant): a tenant gets 403 for its own machine,
// 404 for another's. A self-refreshing section sends the version it shows; 204 when unchanged.
import { createHash } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import type { ApiContext } from '../api/context.js';
import type { Principal } from '../api/tokens.js';
import { ApiError } from '../errors.js';
import { domainError } from '../error-handler.js';
import { clientGone } from '../api/power.js';
import { changePower, POWER_ACTIONS, type PowerAction } from '../api/power-change.js';
import { powerCacheOf, readPower } from '../api/power-read.js';
import { operationLog } from '../api/operations.js';
import { isTenant, operatorOnly } from '../api/scope.js';
import { html, type Html } from './html.js';
import { errorPage, type PageContext } from './layout.js';
import { machineFor } from './scoped-reads.js';
import { operationsSection, powerError, powerRefusal, powerStateText, traceSection } from './machine-sections.js';
import { TRACE_KEEP } from '../../core/boot-trace.js';

interface Signed { principal: Principal; pc: PageContext }
const signedOf = (res: Response): Signed => res.locals.signed as Signed;
const send = (res: Response, body: Html, status = 200) => void res.status(status).type('html').send(body.text);
const digest = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('base64url').slice(0, 16);

/** A failed BMC call as the page says it: an operator sees why, a tenant only that it failed. */
function powerFailure(ctx: ApiContext, p: Principal, name: string, err: unknown): Html {
  const e = err instanceof ApiError ? err : domainError(err);
  if (e) return powerError(e.message);
  ctx.logger.warn({ err, machine: name }, 'dashboard: power call failed');
  return powerError(isTenant(p) ? 'the BMC could not be reached' : `the BMC call failed: ${(err as Error).message}`);
}

const unchanged = (req: Request, version: string) => req.query.v === version;

/**
 * The sections poll every few seconds: each answer closes its connection, or an open page's polls
 * would keep a keep-alive connection busy forever and hold a daemon's shutdown (server.close()
 * waits for busy connections) until its 10 s hard close. A new TCP connection every few seconds
 * per open page costs nothing on the management network.
 */
const polled = (res: Response) => void res.set('Connection', 'close');

export function machineRoutes(router: Router, ctx: ApiContext): void {
  router.get('/machines/:name/power', async (req, res) => {
    const { principal } = signedOf(res);
    const m = await machineFor(ctx, principal, req.params.name);
    try {
      const read = await readPower(ctx, principal, async () => m, { signal: clientGone(res) });
      if (read) send(res, powerStateText(read));
    } catch (err) {
      send(res, powerFailure(ctx, principal, m.name, err));
    }
  });

  router.post('/machines/:name/power/:action', async (req, res) => {
    const { principal, pc } = signedOf(res);
    const action = req.params.action as PowerAction;
    if (!POWER_ACTIONS.includes(action)) throw new ApiError('NOT_FOUND', `no power action ${req.params.action}`);
    // Looked up first: a tenant learns nothing of another's machines.
    const m = await machineFor(ctx, principal, req.params.name);
    const refusal = powerRefusal(principal);
    // A read-only or tenant token's forged request is refused as the API would (403).
    if (refusal) return send(res, errorPage(403, refusal, pc), 403);
    let notice: Html;
    try {
      const signal = clientGone(res);
      const state = await changePower(ctx, m, { action, actor: `operator:${principal.name}`, via: 'the dashboard', signal, cache: powerCacheOf(ctx) });
      notice = html`<strong data-power-state="${state}">${state}</strong> <span class="muted">(power ${action} accepted)</span>`;
    } catch (err) {
      if (res.destroyed) return; // the browser went away: nobody to tell
      notice = powerFailure(ctx, principal, m.name, err);
    }
    if (!req.get('hx-request')) return res.redirect(303, `/ui/machines/${encodeURIComponent(m.name)}`);
    send(res, notice);
  });

  router.get('/machines/:name/operations', async (req, res) => {
    const { principal } = signedOf(res);
    const m = await machineFor(ctx, principal, req.params.name);
    operatorOnly(principal, 'read operation history');
    polled(res);
    const operations = await ctx.store.listOperations(m.name, 20);
    const shown = operations.find((o) => o.state === 'running') ?? operations[0];
    const log = shown ? { op: shown, entries: await operationLog(ctx, shown) } : undefined;
    const version = digest([operations, log?.entries.length, log?.entries.at(-1)]);
    if (unchanged(req, version)) return void res.status(204).end();
    send(res, operationsSection(m.name, { operations, log, version }));
  });

  router.get('/machines/:name/trace', async (req, res) => {
    const { principal } = signedOf(res);
    const m = await machineFor(ctx, principal, req.params.name);
    operatorOnly(principal, 'read boot traces');
    polled(res);
    const entries = await ctx.store.listBootTrace(m.name, TRACE_KEEP);
    const version = `${entries.at(-1)?.id ?? 0}.${entries.length}`;
    if (unchanged(req, version)) return void res.status(204).end();
    send(res, traceSection(m.name, { entries, version }));
  });
}
