// The HTTP application, the daemon's one HTTP server: /healthz and /metrics open, /api/v1 behind
// bearer tokens (api/), boot-time routes (iPXE scripts, images, metadata, the agent) beside them,
// and one error handler for all (error-handler.ts); the dashboard at /ui (ui/). /metrics, /api/v1
// and /ui are the operator's surface, refused on the provisioning network (exposure.ts).
import express from 'express';
import { Gauge } from 'prom-client';
import { markRouteBase, requestMetrics } from './api/http-metrics.js';
import { operatorSurfaceOnly } from './api/exposure.js';
import { ApiError } from './errors.js';
import { errorHandler } from './error-handler.js';
import { machinesRouter } from './api/machines.js';
import { eventsRouter } from './api/events.js';
import { racksRouter } from './api/racks.js';
import { operationsRouter } from './api/operations.js';
import { bootTraceRouter } from './api/boot-trace.js';
import { authenticate } from './api/authenticate.js';
import { allocationsRouter } from './api/allocations.js';
import { tenantTokensRouter } from './api/tenant-tokens.js';
import { isTenant, operatorOnly, visibleMachine } from './api/scope.js';
import { powerRouter } from './api/power.js';
import { powerCacheOf } from './api/power-read.js';
import { ALL_STATES, TRANSITIONS, STATES } from '../core/lifecycle.js';
import type { ApiContext } from './api/context.js';
import { bootRouter } from './boot-routes.js';
import { traceBootRequests } from './boot-trace-http.js';
import { bootDispatch } from './boot-dispatch.js';
import { uiRouter } from './ui/routes.js';
import { metadataRouter } from './metadata-routes.js';
import { agentRouter } from './agent-routes.js';
import { installerRouter } from './installer-routes.js';
import { storeRefusedCounter } from '../metrics.js';
import { isConnectionFailure } from '../core/store/availability.js';

export type { ApiContext };

export function createApp(ctx: ApiContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  new Gauge({
    name: 'rackhand_machines', help: 'Machines by lifecycle state', labelNames: ['state'], registers: [ctx.registry],
    async collect() {
      const counts = Object.fromEntries(ALL_STATES.map((s) => [s, 0]));
      let machines;
      try {
        machines = await ctx.store.listMachines();
      } catch (err) {
        // The store away: the other metrics (rackhand_store_available among them) still answer.
        if (isConnectionFailure(err)) return;
        throw err;
      }
      for (const m of machines) counts[m.state]!++;
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });

  app.use(requestMetrics(ctx.registry));

  app.get('/healthz', (_req, res) => {
    // The process is alive (ok) even while its database is away; `store` says whether it is.
    const store = ctx.store.availability?.available === false ? 'unavailable' : 'available';
    res.json({ ok: true, version: ctx.version, uptime_s: Math.round((Date.now() - ctx.startedAt.getTime()) / 1000), store });
  });
  // The operator's surface: not on the provisioning address unless the site says so.
  const operatorSurface = operatorSurfaceOnly(() => ctx.inventory().inventory);
  app.get('/metrics', operatorSurface, async (_req, res, next) => {
    try {
      res.type(ctx.registry.contentType).send(await ctx.registry.metrics());
    } catch (err) { next(err); }
  });

  // Boot-time routes: machines authenticate with their operation's token in the path.
  const metadata = metadataRouter(ctx);
  const boot = bootDispatch([
    ['/boot/', bootRouter(ctx)],
    ['/v1/agent/', agentRouter(ctx)],
    ['/v1/nocloud/', metadata], ['/v1/answer/', metadata], ['/v1/phone-home/', metadata],
    ['/v1/installer/', installerRouter(ctx)],
  ]);
  app.use(traceBootRequests(ctx.bootTrace, boot.covers));
  app.use(boot);

  const api = express.Router();
  api.use(operatorSurface);
  api.use(authenticate(ctx));
  api.use(express.json({ limit: '256kb' }));
  api.use('/machines', markRouteBase, machinesRouter(ctx));
  api.use('/machines', markRouteBase, operationsRouter(ctx));
  api.use('/machines', markRouteBase, bootTraceRouter(ctx));
  // Power is an operator's tool: a tenant sees only its own machines' power, and changes none.
  api.use('/machines/:name/power', async (req, _res, next) => {
    const p = req.principal!;
    if (!isTenant(p)) return next();
    await visibleMachine(ctx.store, p, String(req.params.name));
    if (req.method !== 'GET' && req.method !== 'HEAD') operatorOnly(p, 'drive power');
    next();
  });
  api.use('/machines', markRouteBase, powerRouter(ctx, powerCacheOf(ctx)));
  api.use('/allocations', markRouteBase, allocationsRouter(ctx));
  api.use('/tokens', markRouteBase, tenantTokensRouter(ctx));
  api.use('/events', markRouteBase, eventsRouter(ctx));
  api.use('/racks', markRouteBase, racksRouter(ctx));
  api.get('/lifecycle', markRouteBase, (_req, res) => {
    res.json({ states: STATES, transitions: TRANSITIONS });
  });
  app.use('/api/v1', markRouteBase, api);
  // The dashboard (ui/): the operator's surface too, never served on the provisioning network.
  app.use('/ui', operatorSurface, markRouteBase, uiRouter(ctx, { maxStreams: ctx.maxUiStreams }));

  app.use((req, _res, next) => next(new ApiError('NOT_FOUND', `no route ${req.method} ${req.path}`)));
  const refused = storeRefusedCounter(ctx.registry).labels({ server: 'http' });
  app.use(errorHandler(ctx.logger, () => refused.inc()));
  return app;
}
