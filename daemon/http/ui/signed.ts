// What a dashboard route module needs from the session check in routes.ts: who is signed in (set
// on res.locals by its middleware) and the one way to answer with a page.
import type { Request, Response } from 'express';
import { html, type Html } from './html.js';
import { ApiError } from '../errors.js';
import { domainError } from '../error-handler.js';
import type { PageContext } from './layout.js';
import type { Principal } from '../api/tokens.js';
import type { Session } from './sessions.js';

export interface SignedIn { session: Session; principal: Principal; pc: PageContext }

/** The signed-in caller; only for routes registered after routes.ts's session check. */
export const signedIn = (res: Response): SignedIn => res.locals.signed as SignedIn;

export const sendHtml = (res: Response, body: Html, status = 200): void => void res.status(status).type('html').send(body.text);

/** A page's query value as one trimmed string (the first of repeated ones), at most `max` long. */
export function queryText(v: unknown, max = 100): string | undefined {
  const s = typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
  const t = s?.trim().slice(0, max);
  return t || undefined;
}

/**
 * After a POST made by htmx, the browser goes to `url` (HX-Redirect); after a plain form POST, a
 * 303 does the same: either way a reload shows the page, never re-sends the POST.
 */
export function redirectAfterPost(res: Response, hx: boolean, url: string): void {
  if (hx) return void res.set('HX-Redirect', url).status(200).end();
  res.redirect(303, url);
}

/** An htmx request's refusal, shown in the page's notice (`target`) instead of a page of its own. */
export function hxRefusal(res: Response, target: string, body: Html): void {
  res.set({ 'HX-Retarget': target, 'HX-Reswap': 'innerHTML' });
  sendHtml(res, body);
}

/**
 * A confirmed button's POST (release, revoke): `act` does it and names the page to go to next. A
 * refusal of an htmx request is shown in the page's `notice`; a plain form's is the router's error page.
 */
export async function buttonPost(req: Request, res: Response, notice: string, what: string, act: () => Promise<string>): Promise<void> {
  const hx = !!req.get('hx-request');
  try {
    redirectAfterPost(res, hx, await act());
  } catch (err) {
    const e = err instanceof ApiError ? err : domainError(err);
    if (!e || !hx) throw err;
    hxRefusal(res, notice, html`<span class="error">${what} refused: ${e.message}</span>`);
  }
}
