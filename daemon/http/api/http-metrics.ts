// rackhand_http_requests_total{method, route, status}: the route label is a route's template
// (`/api/v1/machines/:name`), never a raw path — a client choosing paths must not choose label
// values (40k random paths once grew /metrics to 11 MB). A request no route answered is
// `unmatched`; files under /boot are `/boot/*`. A cap on distinct labels backs this up.
import type { NextFunction, Request, Response } from 'express';
import { Counter, type Registry } from 'prom-client';

/** Distinct route labels kept at most; any further one (a bug, not a client) is `other`. */
export const MAX_ROUTE_LABELS = 200;

declare module 'express-serve-static-core' {
  interface Request {
    /** The template of the path the router that answers was mounted at (static mounts only). */
    routeBase?: string;
  }
}

/** Mount a router with this in front: routes below it are labelled with its mount path. */
export function markRouteBase(req: Request, _res: Response, next: NextFunction): void {
  req.routeBase = req.baseUrl;
  next();
}

export function routeLabel(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  if (path !== undefined) return `${req.routeBase ?? ''}${String(path)}`;
  // No route: the static image handler (a bounded set of files, one label) or nothing at all.
  if (req.originalUrl.startsWith('/boot/')) return '/boot/*';
  return 'unmatched';
}

export function requestMetrics(registry: Registry) {
  const requests = new Counter({
    name: 'rackhand_http_requests_total', help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'], registers: [registry],
  });
  const seen = new Set<string>();
  return (req: Request, res: Response, next: NextFunction) => {
    res.on('finish', () => {
      let route = routeLabel(req);
      if (!seen.has(route)) {
        if (seen.size >= MAX_ROUTE_LABELS) route = 'other';
        else seen.add(route);
      }
      // Node's parser accepts only known methods, and statuses are three digits: both bounded.
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}
