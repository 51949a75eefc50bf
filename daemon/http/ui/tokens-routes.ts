// The tokens page's routes (/ui/tokens), for admin tokens only (others get a 403 page): list,
// create and revoke through the API's own functions (api/tenant-tokens.ts). A created secret is
// handed to the next GET of /ui/tokens/created by this session only, in memory, once: the POST
// answers with a redirect (a reload re-sends nothing), the secret is never in a URL or a log,
// and a reload of the page finds it gone. A revoked token's sessions end on their next request
// (routes.ts resolves a session's token again on every request).
import type { Request, Response, Router } from 'express';
import type { ApiContext } from '../api/context.js';
import { createTenantToken, revokeTenantToken, tenantTokenView } from '../api/tenant-tokens.js';
import { ApiError } from '../errors.js';
import { createdPage, tokensPage, tokensRefusal, type CreateFields, type TenantTokenView } from './tokens-page.js';
import { buttonPost, queryText, sendHtml, signedIn } from './signed.js';
import type { Session } from './sessions.js';

export function registerTokenRoutes(router: Router, ctx: ApiContext): void {
  // A new secret is held in this daemon's memory only, by session id, until that session's next
  // GET of /ui/tokens/created (the redirect right after), at most a minute and for at most 100
  // sessions at once; it is never written anywhere.
  const justCreated = new Map<string, { token: TenantTokenView; secret: string; at: number }>();
  const hold = (session: Session, made: { token: TenantTokenView; secret: string }) => {
    const now = Date.now();
    for (const [id, held] of justCreated) if (now - held.at > 60_000 || justCreated.size >= 100) justCreated.delete(id);
    justCreated.set(session.id, { ...made, at: now });
  };
  const take = (session: Session) => {
    const held = justCreated.get(session.id);
    justCreated.delete(session.id);
    return held && Date.now() - held.at <= 60_000 ? { token: held.token, secret: held.secret } : undefined;
  };

  router.use('/tokens', (_req, res, next) => {
    const refusal = tokensRefusal(signedIn(res).principal.role);
    next(refusal ? new ApiError('FORBIDDEN', refusal) : undefined);
  });

  const render = async (res: Response, extra: { fields?: CreateFields; error?: ApiError; notice?: string } = {}, status = 200) => {
    const tenants = (await ctx.store.listApiTokens()).map(tenantTokenView);
    sendHtml(res, tokensPage(signedIn(res).pc, { file: ctx.tokens.list(), tenants, ...extra }), status);
  };

  router.get('/tokens', async (req: Request, res) => {
    const revoked = queryText(req.query.revoked);
    await render(res, { notice: revoked ? `Revoked ${revoked}: it no longer signs in, and its sessions have ended.` : undefined });
  });

  router.post('/tokens', async (req, res) => {
    const { principal, session } = signedIn(res);
    const form = (req.body ?? {}) as Record<string, unknown>;
    const text = (k: string) => (typeof form[k] === 'string' ? (form[k] as string).trim().slice(0, 100) : '');
    const fields: CreateFields = { owner: text('owner'), name: text('name'), expires_at: text('expires_at') };
    try {
      // datetime-local sends no zone: the form says UTC, so it is read as UTC (the API checks the rest).
      const expires = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(fields.expires_at) ? `${fields.expires_at}Z` : fields.expires_at;
      const made = await createTenantToken(ctx, principal, { owner: fields.owner, ...(fields.name ? { name: fields.name } : {}), ...(expires ? { expires_at: expires } : {}) });
      hold(session, made);
      res.redirect(303, '/ui/tokens/created');
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      await render(res, { fields, error: err }, err.status);
    }
  });

  router.get('/tokens/created', (_req, res) => {
    const { session, pc } = signedIn(res);
    const made = take(session);
    sendHtml(res, createdPage(pc, made));
  });

  router.post('/tokens/:name/revoke', (req, res) => buttonPost(req, res, '#token-notice', `${req.params.name}: revoke`, async () => {
    const t = await revokeTenantToken(ctx, signedIn(res).principal, req.params.name);
    return `/ui/tokens?revoked=${encodeURIComponent(t.name)}`;
  }));
}
