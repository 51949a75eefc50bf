// The machines list's routes: the page (one store query per request: machine-query.ts), a row
// fragment for live updates, and the bulk action's confirmation and application. Registered on
// the dashboard's router by routes.ts, after sign-in and the CSRF check of every POST.
import type { Response, Router } from 'express';
import type { ApiContext } from '../api/context.js';
import type { Principal } from '../api/tokens.js';
import type { Html } from './html.js';
import { errorPage, type PageContext } from './layout.js';
import { machineQueryOf, PAGE_SIZE, parseFilter, TERM_NAMES, type MachineFilter, type Page } from './filter.js';
import { machineRow, machinesPage } from './machines-page.js';
import { applyBulk, parseBulkRequest, resolveTargets, selectionDigest } from './bulk.js';
import { confirmPage, resultPage } from './bulk-page.js';
import { machineFor } from './scoped-reads.js';
import type { MachineRecord } from '../../core/store/types.js';

interface Signed { principal: Principal; pc: PageContext }
const signed = (res: Response): Signed => res.locals.signed as Signed;
const send = (res: Response, body: Html, status = 200) => void res.status(status).type('html').send(body.text);

/** The page of the list the filter asks for; a page past the end shows the last one. */
export async function machineListPage(ctx: ApiContext, p: Principal, f: MachineFilter, size = PAGE_SIZE): Promise<Page<MachineRecord>> {
  const read = (page: number) => ctx.store.queryMachines(machineQueryOf(f, p, { offset: (page - 1) * size, limit: size }));
  let found = await read(f.page);
  const pages = Math.max(1, Math.ceil(found.total / size));
  const page = Math.min(f.page, pages);
  if (page !== f.page) found = await read(page);
  return { rows: found.machines, total: found.total, page, pages };
}

/** A read-only token may look at the list, not act through it: refused before anything is read. */
function mayAct(res: Response): boolean {
  const { principal, pc } = signed(res);
  if (principal.role !== 'readonly') return true;
  send(res, errorPage(403, `token ${principal.name} is read-only: it can look, not act`, pc), 403);
  return false;
}

export function machineListRoutes(router: Router, ctx: ApiContext): void {
  router.get('/machines', async (req, res) => {
    const { principal, pc } = signed(res);
    const f = parseFilter(req.query as Record<string, unknown>);
    send(res, machinesPage(pc, f, await machineListPage(ctx, principal, f)));
  });
  // A row refreshing itself after a live update, with its page's filter: whether the machine
  // still matches it is the store's answer (the same query as the list, for this name only).
  router.get('/machines/:name/row', async (req, res) => {
    const { principal } = signed(res);
    const f = parseFilter(req.query as Record<string, unknown>);
    const m = await machineFor(ctx, principal, req.params.name);
    const filtered = TERM_NAMES.some((k) => f[k]);
    const stale = filtered && (await ctx.store.queryMachines({ ...machineQueryOf(f, principal, { offset: 0, limit: 1 }), name: m.name })).total === 0;
    send(res, machineRow(m, { filter: f, canAct: principal.role !== 'readonly', stale }));
  });
  router.post('/machines/bulk/preview', async (req, res) => {
    if (!mayAct(res)) return;
    const { principal, pc } = signed(res);
    const r = parseBulkRequest(req.body);
    send(res, confirmPage(pc, r, await resolveTargets(ctx, principal, r)));
  });
  router.post('/machines/bulk/apply', async (req, res) => {
    if (!mayAct(res)) return;
    const { principal, pc } = signed(res);
    const r = parseBulkRequest(req.body);
    const targets = await resolveTargets(ctx, principal, r);
    // Only what the person confirmed: if the filter (or the machines' states) now means other
    // machines, they see the new list and confirm again.
    if (req.body?.selection !== selectionDigest(r.action, targets)) {
      return send(res, confirmPage(pc, r, targets, 'The selection changed since you reviewed it (machines changed state, or the filter now matches others): review it again.'), 409);
    }
    send(res, resultPage(pc, r, await applyBulk(ctx, principal, targets, r.action)));
  });
}
