// Boot-time requests go straight to the one router whose paths they are under. Mounted one after
// the other, every request walked the routers ahead of its own, and each router it left without
// a match handed it on only at the event loop's next turn (the router package exits through
// setImmediate): an agent report waited two turns, an API call four. A storm makes thousands of
// these a second. The prefixes are compared as the routers match, without regard to case.
//
// The same table says what a boot path is for the boot trace (`covers`): one list, so what is
// traced is what the boot routers are handed.
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export type BootRoutes = readonly (readonly [prefix: string, handler: RequestHandler])[];

export interface BootDispatch extends RequestHandler {
  /** Whether `path` (a parsed request path) is under one of the boot prefixes. */
  covers(path: string): boolean;
}

export function bootDispatch(routes: BootRoutes): BootDispatch {
  for (const [prefix] of routes) {
    if (!prefix.startsWith('/') || !prefix.endsWith('/') || prefix !== prefix.toLowerCase()) {
      throw new Error(`boot route prefix ${prefix}: must be a lower-case absolute path ending in /`);
    }
  }
  const routeOf = (path: string): RequestHandler | undefined => {
    for (const [prefix, handler] of routes) {
      if (path.length >= prefix.length && path.slice(0, prefix.length).toLowerCase() === prefix) return handler;
    }
    return undefined;
  };
  const dispatch = (req: Request, res: Response, next: NextFunction) => {
    // Origin-form targets (every client but a proxy's) are their path; others are parsed, as the routers do.
    const handler = routeOf(req.url.charCodeAt(0) === 0x2f ? req.url : req.path);
    if (handler) return void handler(req, res, next);
    next();
  };
  return Object.assign(dispatch, { covers: (path: string) => routeOf(path) !== undefined });
}
