// The page shell (head, navigation, who is signed in) and small pieces every page uses.
import { html, jsonAttr, type Html } from './html.js';
import type { Principal } from '../api/tokens.js';
import type { State } from '../../core/lifecycle.js';

export interface PageContext {
  principal: Principal;
  csrf: string;
  /** The newest event id when the page's reads began: its live stream starts after it (none lost between). */
  after?: number;
}

// htmx may not eval, run scripts from swapped HTML or inject its own <style> (the CSP forbids it).
const HTMX_CONFIG = JSON.stringify({ includeIndicatorStyles: false, allowEval: false, allowScriptTags: false, selfRequestsOnly: true });

// The tokens page is an admin's only: other tokens are not shown its link.
const NAV = [['/ui/', 'Overview'], ['/ui/machines', 'Machines'], ['/ui/allocations', 'Allocations'], ['/ui/tokens', 'Tokens']] as const;
const navFor = (p: Principal) => NAV.filter(([href]) => href !== '/ui/tokens' || p.role === 'admin');

export const who = (p: Principal): string => (p.role === 'owner' ? `${p.name} (tenant ${p.owner})` : `${p.name} (${p.role === 'readonly' ? 'read-only' : 'admin'})`);

export function page(title: string, current: string, pc: PageContext, body: Html): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content="${HTMX_CONFIG}">
<title>${title} · Rackhand</title><link rel="stylesheet" href="/ui/assets/ui.css">
<script src="/ui/assets/htmx.min.js" defer></script><script src="/ui/assets/live.js" defer></script></head>
<body hx-headers="${jsonAttr({ 'X-CSRF-Token': pc.csrf })}" ${pc.after ? html`data-after="${pc.after}"` : ''}>
<a class="skip" href="#main">Skip to the content</a>
<header class="top"><strong>Rackhand</strong><nav aria-label="Dashboard">${navFor(pc.principal).map(([href, label]) => html`<a href="${href}" ${href === current ? html`aria-current="page"` : ''}>${label}</a> `)}</nav>
<form method="post" action="/ui/sign-out"><input type="hidden" name="_csrf" value="${pc.csrf}"><span class="who">${who(pc.principal)}</span> <button type="submit">Sign out</button></form></header>
<main id="main" tabindex="-1">${body}</main></body></html>`;
}

export const stateBadge = (s: State | string): Html => html`<span class="state s-${s}">${s}</span>`;

export const time = (iso: string | null | undefined): Html => (iso ? html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time>` : html`<span class="muted">–</span>`);

export function signInPage(message?: string): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Rackhand</title><link rel="stylesheet" href="/ui/assets/ui.css"></head>
<body><main class="signin"><h1>Rackhand</h1>
<form method="post" action="/ui/sign-in">
<label for="token">API token (admin, read-only or tenant)</label>
<input id="token" name="token" type="password" autocomplete="off" required autofocus>
${message ? html`<p class="error" role="alert">${message}</p>` : ''}
<button type="submit">Sign in</button></form>
<p class="muted">The token stays on the server: this browser keeps only a session cookie.</p></main></body></html>`;
}

export function errorPage(status: number, message: string, pc?: PageContext): Html {
  const body = html`<h1>${status}</h1><p class="error">${message}</p><p><a href="/ui/">Back to the overview</a></p>`;
  return pc ? page(String(status), '', pc, body) : html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${status}</title></head><body>${body}</body></html>`;
}
