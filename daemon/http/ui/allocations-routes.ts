// The allocations page's routes (/ui/allocations): list, allocate, release. Each change calls the
// API's own function (api/allocations.ts), so the page and POST/DELETE /api/v1/allocations follow
// one rule; the dashboard only turns form fields into the API's body and refusals into a page.
import type { Request, Response, Router } from 'express';
import type { ApiContext } from '../api/context.js';
import { allocateFor, allocationsFor, allocationView, releaseFor } from '../api/allocations.js';
import { ApiError } from '../errors.js';
import { domainError } from '../error-handler.js';
import { allocateBody, allocateFields, parseAllocationFilter, type AllocateFields } from './allocation-form.js';
import { allocationsLive, allocationsPage } from './allocations-page.js';
import { buttonPost, queryText, redirectAfterPost, sendHtml, signedIn } from './signed.js';
import type { Principal } from '../api/tokens.js';

export function registerAllocationRoutes(router: Router, ctx: ApiContext): void {
  const rows = async (p: Principal, req: Request) => {
    const filter = parseAllocationFilter(req.query as Record<string, unknown>);
    const list = await allocationsFor(ctx, p, filter);
    // Newest first: what was just allocated is at the top.
    return { filter, rows: await Promise.all(list.reverse().map((a) => allocationView(ctx, a))) };
  };
  const profiles = () => Object.keys(ctx.inventory().inventory.profiles).sort();
  const render = async (req: Request, res: Response, extra: { fields?: AllocateFields; error?: ApiError; notice?: string } = {}, status = 200) => {
    const { principal, pc } = signedIn(res);
    sendHtml(res, allocationsPage(pc, { ...(await rows(principal, req)), profiles: profiles(), ...extra }), status);
  };

  router.get('/allocations', async (req, res) => {
    const created = queryText(req.query.created);
    const released = queryText(req.query.released);
    const notice = created ? `Allocated ${created}: its machines are deploying.` : released ? `Released ${released}.` : undefined;
    await render(req, res, { notice });
  });
  router.get('/allocations/live', async (req, res) => {
    const { principal, pc } = signedIn(res);
    const { filter, rows: list } = await rows(principal, req);
    sendHtml(res, allocationsLive(pc, filter, list));
  });

  router.post('/allocations', async (req, res) => {
    const { principal } = signedIn(res);
    const fields = allocateFields(req.body ?? {});
    try {
      const a = await allocateFor(ctx, principal, allocateBody(fields));
      return redirectAfterPost(res, !!req.get('hx-request'), `/ui/allocations?created=${encodeURIComponent(a.id)}`);
    } catch (err) {
      const e = err instanceof ApiError ? err : domainError(err);
      if (!e) throw err;
      // The form comes back as typed, with what was refused and why.
      await render(req, res, { fields, error: e }, e.status);
    }
  });

  router.post('/allocations/:id/release', (req, res) => buttonPost(req, res, '#allocation-notice', `${req.params.id}: release`, async () => {
    const a = await releaseFor(ctx, signedIn(res).principal, req.params.id);
    return `/ui/allocations?released=${encodeURIComponent(a.id)}`;
  }));
}
