// /ui/tokens (admins only): the tokens of tokens.json (name and role; edited by the operator,
// rotated with the CLI) and the tenant tokens (owner, created, last used, expiry, state), a form
// to create a tenant token, and a revoke button per live one, which asks first. A new token's
// secret is shown once, on the page right after it is created, and kept nowhere.
import { html, type Html } from './html.js';
import { page, time, type PageContext } from './layout.js';
import type { tenantTokenView } from '../api/tenant-tokens.js';
import type { ApiError } from '../errors.js';
import type { Role } from '../api/tokens.js';

export type TenantTokenView = ReturnType<typeof tenantTokenView>;

/** Why this principal may not see the tokens page, or undefined when it may. */
export function tokensRefusal(role: string): string | undefined {
  return role === 'admin' ? undefined : 'only an admin token may see and manage tokens';
}

export const revokeConfirmation = (t: TenantTokenView): string =>
  `Revoke token ${t.name} of owner ${t.owner}: it stops working at once, and every dashboard session signed in with it ends.`;

function revokeControl(pc: PageContext, t: TenantTokenView): Html {
  if (t.state !== 'active') return html`<span class="muted">${t.state}</span>`;
  const url = `/ui/tokens/${encodeURIComponent(t.name)}/revoke`;
  return html`<form method="post" action="${url}" hx-post="${url}" hx-confirm="${revokeConfirmation(t)}">
<input type="hidden" name="_csrf" value="${pc.csrf}"><button type="submit" data-revoke="${t.name}">Revoke</button></form>`;
}

export function tokensTable(pc: PageContext, file: { name: string; role: Role }[], tenants: TenantTokenView[]): Html {
  return html`<div class="table-scroll"><table class="tokens"><thead><tr><th>Name</th><th>Role</th><th>Owner</th><th class="hide-narrow">Created</th><th class="hide-narrow">Last used</th><th class="hide-narrow">Expires</th><th>State</th><th></th></tr></thead><tbody>
${file.map((t) => html`<tr data-token="${t.name}"><td>${t.name}</td><td>${t.role === 'readonly' ? 'read-only' : 'admin'}</td><td class="muted">–</td>
<td class="hide-narrow muted" colspan="3">in tokens.json (rotate with rackhand tokens rotate)</td><td>active</td><td></td></tr>`)}
${tenants.map((t) => html`<tr data-token="${t.name}"><td>${t.name}</td><td>tenant</td><td>${t.owner}</td><td class="hide-narrow">${time(t.created_at)}</td>
<td class="hide-narrow">${time(t.last_used_at)}</td><td class="hide-narrow">${t.expires_at ? time(t.expires_at) : html`<span class="muted">never</span>`}</td><td>${t.state}</td><td>${revokeControl(pc, t)}</td></tr>`)}
</tbody></table></div>`;
}

export interface CreateFields { owner: string; name: string; expires_at: string }

function createForm(pc: PageContext, v: CreateFields | undefined, error: ApiError | undefined): Html {
  return html`<form class="filters" method="post" action="/ui/tokens">
<input type="hidden" name="_csrf" value="${pc.csrf}">
<label>Owner<input name="owner" required size="12" value="${v?.owner ?? ''}"></label>
<label>Name (optional)<input name="name" size="14" value="${v?.name ?? ''}"></label>
<label>Expires, UTC (optional)<input name="expires_at" type="datetime-local" value="${v?.expires_at ?? ''}"></label>
<button type="submit">Create tenant token</button></form>
${error ? html`<p class="error" role="alert" id="token-error">${error.status} ${error.message}</p>` : ''}`;
}

export function tokensPage(pc: PageContext, v: { file: { name: string; role: Role }[]; tenants: TenantTokenView[]; fields?: CreateFields; error?: ApiError; notice?: string }): Html {
  return page('Tokens', '/ui/tokens', pc, html`<h1>Tokens</h1>
<h2>Create a tenant token</h2>${createForm(pc, v.fields, v.error)}
<p class="notice" id="token-notice" role="status">${v.notice ?? ''}</p>
<h2>Tokens</h2>${tokensTable(pc, v.file, v.tenants)}`);
}

/** The one page that shows a new secret; a reload finds it gone (see tokens-routes.ts). */
export function createdPage(pc: PageContext, made: { token: TenantTokenView; secret: string } | undefined): Html {
  if (!made) {
    return page('Token created', '/ui/tokens', pc, html`<h1>Token created</h1>
<p id="secret-gone">A new token's secret is shown once, right after it is created, and is not kept: if it was lost, revoke that token and create another.</p>
<p><a href="/ui/tokens">Back to the tokens</a></p>`);
  }
  const t = made.token;
  return page('Token created', '/ui/tokens', pc, html`<h1>Token ${t.name} created</h1>
<p>Tenant token for owner <strong>${t.owner}</strong>${t.expires_at ? html`, expires ${time(t.expires_at)}` : ''}. Copy its secret now: it is shown <strong>once</strong>, here, and never again.</p>
<p><label for="secret">Secret</label><br><input id="secret" class="secret" readonly value="${made.secret}" size="40" autocomplete="off"></p>
<p><a href="/ui/tokens">Back to the tokens</a></p>`);
}
