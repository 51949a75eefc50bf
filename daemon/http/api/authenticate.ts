// Who is calling /api/v1: a bearer token from tokens.json (admin, readonly) or a tenant token from
// the store. A tenant token works until it expires or an admin revokes it; each says so in its
// 401, since whoever holds the secret already knows the token. Its last use is recorded, at most
// once a minute per token, so a busy tenant does not write a row per request.
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../errors.js';
import { tokenDigest, type Principal } from './tokens.js';
import type { ApiContext } from './context.js';
import type { ApiTokenRecord } from '../../core/store/types.js';

/** How stale a token's recorded last use may get before a request writes it again. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** Why a tenant token no longer works at `now`, or undefined while it does. */
export function tokenRefusal(t: ApiTokenRecord, now: number): string | undefined {
  if (t.revokedAt) return `token ${t.name} was revoked at ${t.revokedAt}`;
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return `token ${t.name} expired at ${t.expiresAt}`;
  return undefined;
}

/**
 * Resolves a token's secret to its principal (or throws 401): the file's tokens, then tenant tokens
 * by digest, refused once revoked or expired. The API's bearer check and the dashboard's session
 * (http/ui/, which keeps only the digest: digestResolver) both use it, so a token means the same
 * thing on both.
 */
export function tokenResolver(ctx: ApiContext): (secret: string) => Promise<Principal> {
  const byDigest = digestResolver(ctx);
  return (secret: string) => byDigest(tokenDigest(secret));
}

/** As tokenResolver, from the token's sha256 (hex). */
export function digestResolver(ctx: ApiContext): (digest: string) => Promise<Principal> {
  // Last writes by token name, so concurrent requests of one token do not all write.
  const written = new Map<string, number>();
  const touch = (t: ApiTokenRecord, now: number) => {
    const last = Math.max(written.get(t.name) ?? 0, t.lastUsedAt ? Date.parse(t.lastUsedAt) : 0);
    if (now - last < LAST_USED_RESOLUTION_MS) return;
    written.set(t.name, now);
    ctx.store.touchApiToken(t.name, new Date(now).toISOString())
      .catch((err) => ctx.logger.error({ err, token: t.name }, 'recording a token\'s last use failed'));
  };
  return async (digest: string) => {
    const file = ctx.tokens.findByDigest(digest);
    // Tenant tokens are looked up by digest: the database never holds a usable secret.
    const tenant = file ? undefined : await ctx.store.apiTokenByDigest(digest);
    const now = Date.now();
    if (tenant) {
      const refusal = tokenRefusal(tenant, now);
      if (refusal) throw new ApiError('UNAUTHENTICATED', refusal);
      touch(tenant, now);
    }
    const principal: Principal | undefined = file ? { name: file.name, role: file.role }
      : tenant ? { name: tenant.name, role: 'owner', owner: tenant.owner } : undefined;
    if (!principal) throw new ApiError('UNAUTHENTICATED', 'unknown token');
    return principal;
  };
}

export function authenticate(ctx: ApiContext) {
  const resolve = tokenResolver(ctx);
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) return next(new ApiError('UNAUTHENTICATED', 'send Authorization: Bearer TOKEN (the token file is in the state directory)'));
    let principal: Principal;
    try { principal = await resolve(m[1]!); } catch (err) { return next(err); }
    req.principal = principal;
    if (req.method !== 'GET' && req.method !== 'HEAD' && principal.role === 'readonly') {
      return next(new ApiError('FORBIDDEN', `token ${principal.name} is read-only`));
    }
    next();
  };
}
