// /api/v1/tokens: owner-scoped tokens for tenants, created by an admin. The secret is shown once,
// in the answer to POST; SQLite keeps only its sha256, so a copied database grants nothing.
// Admin and read-only tokens stay in tokens.json, edited by the operator; POST /tokens/rotate gives
// one of them a new secret, written to the file, the old one refused from then on.
// A tenant token may carry an expiry; DELETE revokes it (the row stays, marked, for the record).
import { Router } from 'express';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import { parseInput } from '../validate.js';
import { mayAct, operatorOnly } from './scope.js';
import { actorOf, type Principal, newToken, rotateFileToken, TOKEN_FILE, tokenDigest } from './tokens.js';
import { tokenRefusal } from './authenticate.js';
import { join } from 'node:path';
import type { ApiContext } from './context.js';
import type { ApiTokenRecord } from '../../core/store/types.js';

const slug = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { error: 'letters, digits, . _ - (up to 63), starting with a letter or digit' });
const futureTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'not a date/time (ISO 8601)' })
  .refine((s) => Date.parse(s) > Date.now(), { error: 'is in the past' })
  .transform((s) => new Date(s).toISOString());
const createBody = z.strictObject({ owner: slug, name: slug.optional(), expires_at: futureTime.optional() });
const rotateBody = z.strictObject({ name: z.string().min(1).optional() });

export const tenantTokenView = (t: ApiTokenRecord) => ({
  name: t.name, owner: t.owner, role: 'owner', created_by: t.createdBy, created_at: t.createdAt,
  expires_at: t.expiresAt, revoked_at: t.revokedAt, last_used_at: t.lastUsedAt,
  state: t.revokedAt ? 'revoked' : tokenRefusal(t, Date.now()) ? 'expired' : 'active',
});

/** POST /api/v1/tokens's rule, for the API and the dashboard: an admin makes a tenant token; its secret is returned once. */
export async function createTenantToken(ctx: ApiContext, p: Principal, input: unknown): Promise<{ token: ReturnType<typeof tenantTokenView>; secret: string }> {
  operatorOnly(p, 'create tokens');
  mayAct(p);
  const body = parseInput(createBody, input, 'body');
  const name = body.name ?? `${body.owner}-${randomBytes(3).toString('hex')}`;
  const taken = ctx.tokens.names().includes(name) || (await ctx.store.listApiTokens()).some((t) => t.name === name);
  if (taken) throw new ApiError('CONFLICT', `a token named ${name} exists; choose another name`);
  const secret = newToken();
  const rec = await ctx.store.createApiToken({ name, owner: body.owner, digest: tokenDigest(secret), createdBy: actorOf(p), expiresAt: body.expires_at ?? null });
  await ctx.store.appendEvent({ machine: null, kind: 'auth', event: 'token_created', actor: actorOf(p), cause: `token ${name} for owner ${body.owner}${rec.expiresAt ? `, expires ${rec.expiresAt}` : ''}`, data: { name, owner: body.owner, expires_at: rec.expiresAt } });
  return { token: tenantTokenView(rec), secret };
}

/** DELETE /api/v1/tokens/NAME's rule: an admin revokes a tenant token (file tokens are rotated, not revoked). */
export async function revokeTenantToken(ctx: ApiContext, p: Principal, name: string): Promise<ReturnType<typeof tenantTokenView>> {
  operatorOnly(p, 'revoke tokens');
  mayAct(p);
  if (ctx.tokens.names().includes(name)) {
    throw new ApiError('BAD_REQUEST', `${name} is a ${TOKEN_FILE} token: rotate it (POST /api/v1/tokens/rotate) or remove it from the file`, { field: 'name' });
  }
  const before = (await ctx.store.listApiTokens()).find((t) => t.name === name);
  if (!before) throw new ApiError('NOT_FOUND', `no tenant token named ${name}`);
  const rec = (await ctx.store.revokeApiToken(name))!;
  if (!before.revokedAt) {
    await ctx.store.appendEvent({ machine: null, kind: 'auth', event: 'token_revoked', actor: actorOf(p), cause: `token ${name} of owner ${rec.owner} revoked`, data: { name, owner: rec.owner } });
  }
  return tenantTokenView(rec);
}

export function tenantTokensRouter(ctx: ApiContext): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    operatorOnly(req.principal!, 'list tokens');
    res.json({ tokens: (await ctx.store.listApiTokens()).map(tenantTokenView) });
  });

  router.post('/', async (req, res) => {
    res.status(201).json(await createTenantToken(ctx, req.principal!, req.body));
  });

  // A file token (admin, readonly) gets a new secret, by default the caller's own. The file is
  // rewritten atomically and the running daemon refuses the old secret at once.
  router.post('/rotate', async (req, res) => {
    const p = req.principal!;
    if (p.role !== 'admin') throw new ApiError('FORBIDDEN', `token ${p.name} may not rotate tokens: only an admin token may`);
    const name = parseInput(rotateBody, req.body, 'body').name ?? p.name;
    const rotated = rotateFileToken(join(ctx.stateDir, TOKEN_FILE), name);
    if (!rotated) throw new ApiError('NOT_FOUND', `no token named ${name} in ${TOKEN_FILE} (tenant tokens are revoked and created, not rotated)`, { field: 'body.name' });
    ctx.tokens.replace(rotated.entries);
    await ctx.store.appendEvent({ machine: null, kind: 'auth', event: 'token_rotated', actor: actorOf(p), cause: `token ${name} in ${TOKEN_FILE} rotated`, data: { name } });
    const role = rotated.entries.find((e) => e.name === name)!.role;
    res.json({ token: { name, role }, secret: rotated.secret });
  });

  router.delete('/:name', async (req, res) => {
    res.json({ token: await revokeTenantToken(ctx, req.principal!, req.params.name) });
  });
  return router;
}
