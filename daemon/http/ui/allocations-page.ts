// /ui/allocations: the allocations the signed-in token may see (filters in the URL), the allocate
// form (the API's constraints: owner for admins, profile, cpus, memory, disk, arch, tags, count)
// and a release button per active allocation, which asks first. What was refused is shown beside
// the form with the API's reason (for "no ready machine fits": what was missing).
import { html, type Html } from './html.js';
import { page, stateBadge, time, type PageContext } from './layout.js';
import { allocationFilterQuery, type AllocateFields, type AllocationFilter } from './allocation-form.js';
import { isTenant } from '../api/scope.js';
import type { Principal } from '../api/tokens.js';
import type { AllocationView } from '../api/allocations.js';
import type { ApiError } from '../errors.js';

/** Why this principal may not allocate or release, or undefined when it may. */
export function allocationRefusal(p: Principal): string | undefined {
  return p.role === 'readonly' ? `token ${p.name} is read-only: it can look, not allocate or release` : undefined;
}

export function releaseConfirmation(a: AllocationView): string {
  const names = a.machines.map((m) => m.name).join(', ');
  return `Release ${a.id} (${a.owner}): ${names || 'its machines'} leave the allocation; deployed disks are erased, then the machines return to the pool.`;
}

const allocationUrl = (id: string) => `/ui/allocations/${encodeURIComponent(id)}`;

function releaseControl(pc: PageContext, a: AllocationView): Html {
  if (a.record_state === 'released') return html`<span class="muted">released ${time(a.released_at)}</span>`;
  const refusal = allocationRefusal(pc.principal);
  if (refusal) return html`<button type="button" disabled title="${refusal}" data-release="${a.id}">Release</button>`;
  const url = `${allocationUrl(a.id)}/release`;
  return html`<form method="post" action="${url}" hx-post="${url}" hx-confirm="${releaseConfirmation(a)}">
<input type="hidden" name="_csrf" value="${pc.csrf}"><button type="submit" data-release="${a.id}">Release</button></form>`;
}

function row(pc: PageContext, a: AllocationView): Html {
  return html`<tr data-allocation="${a.id}"><td>${a.id}</td><td>${a.owner}</td><td class="hide-narrow">${a.profile}</td><td>${stateBadge(a.state)}</td>
<td>${a.machines.map((m, i) => html`${i ? ', ' : ''}<a href="/ui/machines/${encodeURIComponent(m.name)}">${m.name}</a>`)}</td>
<td class="hide-narrow">${time(a.created_at)}</td><td>${releaseControl(pc, a)}</td></tr>`;
}

export function allocationsLive(pc: PageContext, f: AllocationFilter, rows: AllocationView[]): Html {
  const refusal = allocationRefusal(pc.principal);
  return html`<section id="allocations-live" data-live-any hx-get="/ui/allocations/live${allocationFilterQuery(f)}" hx-trigger="rh:live delay:150ms" hx-swap="outerHTML">
<p class="muted" id="allocation-count">${rows.length} allocation${rows.length === 1 ? '' : 's'}.</p>
${refusal ? html`<p class="reason" id="release-reason">${refusal}</p>` : ''}
<div class="table-scroll"><table class="allocations"><thead><tr><th>ID</th><th>Owner</th><th class="hide-narrow">Profile</th><th>State</th><th>Machines</th><th class="hide-narrow">Created</th><th></th></tr></thead>
<tbody>${rows.map((a) => row(pc, a))}</tbody></table></div></section>`;
}

function filters(pc: PageContext, f: AllocationFilter): Html {
  const state = (v: string, label: string) => html`<option value="${v}" ${(f.state ?? '') === v ? html`selected` : ''}>${label}</option>`;
  return html`<form class="filters" method="get" action="/ui/allocations" role="search">
${isTenant(pc.principal) ? '' : html`<label>Owner<input name="owner" value="${f.owner ?? ''}" size="12"></label>`}
<label>State<select name="state">${state('', 'any')}${state('active', 'active')}${state('released', 'released')}</select></label>
<button type="submit">Filter</button> <a href="/ui/allocations">Clear</a></form>`;
}

/** What was refused, said plainly; for no fit, which constraint was not met and how close the fleet came. */
export function refusalText(e: ApiError): Html {
  const x = e.extra;
  const unmet = x.unmet ? html`<br>Missing: ${x.unmet.constraint} — wanted ${x.unmet.wanted}, the closest ready machine has ${x.unmet.best ?? 'none'}.` : '';
  const counts = x.ready !== undefined ? html`<br>Ready machines: ${x.ready}; fitting every constraint: ${x.fitting ?? 0}.` : '';
  return html`<p class="error" role="alert" id="allocate-error">${e.status} ${e.message}${unmet}${counts}</p>`;
}

function allocateForm(pc: PageContext, profiles: string[], v: AllocateFields | undefined, error: ApiError | undefined): Html {
  const refusal = allocationRefusal(pc.principal);
  const dis = refusal ? html`disabled` : '';
  const val = (k: keyof AllocateFields, dflt = '') => v?.[k] || dflt;
  const input = (k: keyof AllocateFields, label: string, attrs: Html) => html`<label>${label}<input name="${k}" value="${val(k)}" ${attrs} ${dis}></label>`;
  const p = pc.principal;
  return html`<form class="filters allocate" method="post" action="/ui/allocations" aria-describedby="allocate-reason">
<input type="hidden" name="_csrf" value="${pc.csrf}">
${isTenant(p) ? html`<p class="fixed-owner">Owner: <strong>${p.owner}</strong> <span class="muted">(your token's; not changeable)</span></p>`
    : input('owner', 'Owner', html`required size="12"`)}
<label>Profile<select name="profile" required ${dis}>${profiles.map((name) => html`<option ${val('profile') === name ? html`selected` : ''}>${name}</option>`)}</select></label>
${input('cpus', 'CPUs (at least)', html`type="number" min="1" step="1" size="4"`)}
${input('memory_gib', 'Memory GiB', html`type="number" min="0" step="any" size="5"`)}
${input('disk_gib', 'Disk GiB', html`type="number" min="0" step="any" size="5"`)}
${input('arch', 'Arch', html`size="8" placeholder="x86_64"`)}
${input('tags', 'Tags (comma-separated)', html`size="14"`)}
<label>Count<input name="count" type="number" min="1" max="256" value="${val('count', '1')}" size="3" ${dis}></label>
<button type="submit" ${dis}>Allocate</button>
${refusal ? html`<span class="reason" id="allocate-reason">${refusal}</span>` : ''}</form>
${error ? refusalText(error) : ''}`;
}

export interface AllocationsPage {
  filter: AllocationFilter;
  rows: AllocationView[];
  profiles: string[];
  fields?: AllocateFields;
  error?: ApiError;
  notice?: string;
}

export function allocationsPage(pc: PageContext, v: AllocationsPage): Html {
  return page('Allocations', '/ui/allocations', pc, html`<h1>Allocations</h1>
<h2>Allocate machines</h2>${allocateForm(pc, v.profiles, v.fields, v.error)}
<p class="notice" id="allocation-notice" role="status">${v.notice ?? ''}</p>
<h2>Allocations</h2>${filters(pc, v.filter)}${allocationsLive(pc, v.filter, v.rows)}`);
}
