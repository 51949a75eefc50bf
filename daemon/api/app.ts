// The HTTP application: /healthz and /metrics open, /api/v1 behind bearer tokens. Boot-time
// routes (iPXE scripts, images, metadata, the agent) mount beside these in later modules.
import express, { type NextFunction, type Request, type Response } from 'express';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ApiError } from './errors.js';
import { machinesRouter } from './machines.js';
import { eventsRouter } from './events.js';
import { operationsRouter } from './operations.js';
import { tokenDigest, type Principal, type TokenBook } from './tokens.js';
import { allocationsRouter } from './allocations.js';
import { tenantTokensRouter } from './tenant-tokens.js';
import { isTenant, operatorOnly, visibleMachine } from './scope.js';
import type { MachineRecord, Store } from '../core/store/types.js';
import type { ManagedPower } from '../power/index.js';
import type { Orchestrator } from '../orchestrate.js';
import { powerRouter } from './power.js';
import type { LoadedInventory } from '../core/inventory/load.js';
import type { Logger } from '../log.js';
import { ALL_STATES, TRANSITIONS, STATES } from '../core/lifecycle.js';
import { bootRouter } from '../http/boot-routes.js';
import { metadataRouter } from '../http/metadata-routes.js';
import { agentRouter } from '../http/agent-routes.js';

export interface ApiContext {
  store: Store;
  tokens: TokenBook;
  inventory: () => LoadedInventory;
  logger: Logger;
  registry: Registry;
  version: string;
  startedAt: Date;
  stateDir: string;
  orchestrator: Orchestrator;
  /** The machine's power driver, wrapped with serialization, retries and polling. */
  power: (machine: MachineRecord) => ManagedPower;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

export function createApp(ctx: ApiContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const requests = new Counter({
    name: 'rackhand_http_requests_total', help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'], registers: [ctx.registry],
  });
  new Gauge({
    name: 'rackhand_machines', help: 'Machines by lifecycle state', labelNames: ['state'], registers: [ctx.registry],
    async collect() {
      const counts = Object.fromEntries(ALL_STATES.map((s) => [s, 0]));
      for (const m of await ctx.store.listMachines()) counts[m.state]!++;
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });

  app.use((req, res, next) => {
    res.on('finish', () => {
      const route = (req.route?.path as string | undefined) ?? (res.statusCode === 404 ? 'unmatched' : req.path);
      requests.inc({ method: req.method, route: `${req.baseUrl}${route}`, status: String(res.statusCode) });
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, version: ctx.version, uptime_s: Math.round((Date.now() - ctx.startedAt.getTime()) / 1000) });
  });
  app.get('/metrics', async (_req, res, next) => {
    try {
      res.type(ctx.registry.contentType).send(await ctx.registry.metrics());
    } catch (err) { next(err); }
  });

  // Boot-time routes: machines authenticate with their operation's token in the path.
  app.use(bootRouter(ctx));
  app.use(metadataRouter(ctx));
  app.use(agentRouter(ctx));

  const api = express.Router();
  api.use(authenticate(ctx));
  api.use(express.json({ limit: '256kb' }));
  api.use('/machines', machinesRouter(ctx));
  api.use('/machines', operationsRouter(ctx));
  // Power is an operator's tool: a tenant sees only its own machines' power, and changes none.
  api.use('/machines/:name/power', async (req, _res, next) => {
    const p = req.principal!;
    if (!isTenant(p)) return next();
    await visibleMachine(ctx.store, p, String(req.params.name));
    if (req.method !== 'GET' && req.method !== 'HEAD') operatorOnly(p, 'drive power');
    next();
  });
  api.use('/machines', powerRouter(ctx));
  api.use('/allocations', allocationsRouter(ctx));
  api.use('/tokens', tenantTokensRouter(ctx));
  api.use('/events', eventsRouter(ctx));
  api.get('/lifecycle', (_req, res) => {
    res.json({ states: STATES, transitions: TRANSITIONS });
  });
  app.use('/api/v1', api);

  app.use((req, _res, next) => next(new ApiError('NOT_FOUND', `no route ${req.method} ${req.path}`)));
  app.use(errorHandler(ctx.logger));
  return app;
}

function authenticate(ctx: ApiContext) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) return next(new ApiError('UNAUTHENTICATED', 'send Authorization: Bearer TOKEN (the token file is in the state directory)'));
    const file = ctx.tokens.find(m[1]!);
    // Tenant tokens are looked up by digest: the database never holds a usable secret.
    const tenant = file ? undefined : await ctx.store.apiTokenByDigest(tokenDigest(m[1]!));
    const principal: Principal | undefined = file ? { name: file.name, role: file.role }
      : tenant ? { name: tenant.name, role: 'owner', owner: tenant.owner } : undefined;
    if (!principal) return next(new ApiError('UNAUTHENTICATED', 'unknown token'));
    req.principal = principal;
    if (req.method !== 'GET' && req.method !== 'HEAD' && principal.role === 'readonly') {
      return next(new ApiError('FORBIDDEN', `token ${principal.name} is read-only`));
    }
    next();
  };
}

function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let apiError: ApiError;
    if (err instanceof ApiError) apiError = err;
    else if (isBodyParserError(err)) {
      apiError = err.type === 'entity.too.large'
        ? new ApiError('BAD_REQUEST', 'body is larger than 256 KiB', { field: 'body' })
        : new ApiError('BAD_REQUEST', `body is not valid JSON: ${err.message}`, { field: 'body' });
    } else {
      logger.error({ err, method: req.method, path: req.path }, 'request failed');
      apiError = new ApiError('INTERNAL', 'internal error; see the daemon log');
    }
    res.status(apiError.status).json(apiError.toJSON());
  };
}

function isBodyParserError(err: unknown): err is { type: string; message: string; status: number } {
  return typeof err === 'object' && err !== null && 'type' in err && typeof (err as { type: unknown }).type === 'string'
    && String((err as { type: string }).type).startsWith('entity.');
}
