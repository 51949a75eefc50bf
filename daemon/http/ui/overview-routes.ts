// The overview's routes: the page and its live sections (state, events and, operators only, health).
import type { Response, Router } from 'express';
import type { ApiContext } from '../api/context.js';
import type { Principal } from '../api/tokens.js';
import { ApiError } from '../errors.js';
import { domainError } from '../error-handler.js';
import { isTenant } from '../api/scope.js';
import { rackStatus } from '../api/racks.js';
import { bmcQueue } from '../../power/queue.js';
import { eventsFor } from './scoped-reads.js';
import { countsFor, failuresFor, workFor } from './overview-data.js';
import { healthOf, readHealthMetrics } from './health.js';
import { overviewEvents, overviewHealth, overviewLive, overviewPage, overviewWithoutStore, type OverviewData } from './overview.js';
import { sendHtml, signedIn } from './signed.js';

const storeAway = (err: unknown) => domainError(err)?.code === 'STORE_UNAVAILABLE';

export function registerOverviewRoutes(router: Router, ctx: ApiContext): void {
  const data = async (p: Principal): Promise<OverviewData> => {
    const [counts, failures, { work, more }] = await Promise.all([countsFor(ctx, p), failuresFor(ctx, p), workFor(ctx, p)]);
    return { counts, failures, work, moreWork: more };
  };
  // The services' counters live in this process: they are shown even while the store is away
  // (the racks, which the store knows, are then said to be unknown).
  const health = async () => {
    const services = healthOf(await readHealthMetrics(ctx.registry), bmcQueue.lanesNow());
    const racks = await rackStatus(ctx).then((r) => r.racks, (err) => { if (storeAway(err)) return undefined; throw err; });
    return overviewHealth(services, racks);
  };
  // A tenant has no business with the provisioning infrastructure (as GET /api/v1/racks).
  const operator = (res: Response) => !isTenant(signedIn(res).principal);

  router.get('/', async (_req, res) => {
    const { principal, pc } = signedIn(res);
    try {
      const events = await eventsFor(ctx, principal, { limit: 20 });
      sendHtml(res, overviewPage(pc, await data(principal), events, operator(res) ? await health() : undefined));
    } catch (err) {
      // An operator opening the overview during a store outage sees the outage and the services.
      if (!storeAway(err) || !operator(res)) throw err;
      sendHtml(res, overviewWithoutStore(pc, await health()), 503);
    }
  });
  router.get('/overview/live', async (_req, res) => sendHtml(res, overviewLive(await data(signedIn(res).principal))));
  router.get('/overview/events', async (_req, res) => sendHtml(res, overviewEvents(await eventsFor(ctx, signedIn(res).principal, { limit: 20 }))));
  router.get('/overview/health', async (_req, res) => {
    if (!operator(res)) throw new ApiError('FORBIDDEN', 'service health is for operator tokens');
    sendHtml(res, await health());
  });
}
