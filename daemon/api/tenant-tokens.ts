// /api/v1/tokens: owner-scoped tokens for tenants, created by an admin. The secret is shown once,
// in the answer to POST; SQLite keeps only its sha256, so a copied database grants nothing.
// Admin and read-only tokens stay in tokens.json, edited by the operator.
import { Router } from 'express';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ApiError } from './errors.js';
import { parseInput } from './validate.js';
import { operatorOnly } from './scope.js';
import { actorOf, newToken, tokenDigest } from './tokens.js';
import type { ApiContext } from './app.js';
import type { ApiTokenRecord } from '../core/store/types.js';

const slug = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, { error: 'letters, digits, . _ - (up to 63), starting with a letter or digit' });
const createBody = z.strictObject({ owner: slug, name: slug.optional() });

const view = (t: ApiTokenRecord) => ({ name: t.name, owner: t.owner, role: 'owner', created_by: t.createdBy, created_at: t.createdAt });

export function tenantTokensRouter(ctx: ApiContext): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    operatorOnly(req.principal!, 'list tokens');
    res.json({ tokens: (await ctx.store.listApiTokens()).map(view) });
  });

  router.post('/', async (req, res) => {
    const p = req.principal!;
    operatorOnly(p, 'create tokens');
    const body = parseInput(createBody, req.body, 'body');
    const name = body.name ?? `${body.owner}-${randomBytes(3).toString('hex')}`;
    const taken = ctx.tokens.names().includes(name) || (await ctx.store.listApiTokens()).some((t) => t.name === name);
    if (taken) throw new ApiError('CONFLICT', `a token named ${name} exists; choose another name`);
    const secret = newToken();
    const rec = await ctx.store.createApiToken({ name, owner: body.owner, digest: tokenDigest(secret), createdBy: actorOf(p) });
    await ctx.store.appendEvent({ machine: null, kind: 'auth', event: 'token_created', actor: actorOf(p), cause: `token ${name} for owner ${body.owner}`, data: { name, owner: body.owner } });
    res.status(201).json({ token: view(rec), secret });
  });
  return router;
}
