// The bulk action's three faces: the form above the machines list, the confirmation that names
// what will happen and to which machines (and which are skipped, and why), and the result, one
// line per machine. Plain forms and full pages: no script is needed to act on many machines.
import { html, type Html } from './html.js';
import { page, type PageContext } from './layout.js';
import { TERM_NAMES, termText, type MachineFilter } from './filter.js';
import { isTenant } from '../api/scope.js';
import {
  BULK_ACTIONS, BULK_CAP, BULK_EFFECTS, BULK_LABELS, selectionDigest, tenantActions,
  type BulkRequest, type Outcome, type Target,
} from './bulk.js';

/** How many names a confirmation lists before "and N more". */
export const NAMES_SHOWN = 20;

const hidden = (name: string, value: string) => html`<input type="hidden" name="${name}" value="${value}">`;
const listUrl = (filterText: string) => `/ui/machines${filterText ? `?${filterText}` : ''}`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The filter as the bulk form carries it: what matches, without the page or the columns. */
function filterText(f: MachineFilter): string {
  const params = new URLSearchParams();
  for (const k of TERM_NAMES) if (f[k]) params.set(k, termText(f[k]));
  return params.toString();
}

/** Above the list: the action, and whether it takes the ticked rows or everything the filter matches. */
export function bulkForm(pc: PageContext, f: MachineFilter, total: number): Html {
  const p = pc.principal;
  const reason = p.role === 'readonly' ? `token ${p.name} is read-only: it can look, not act` : undefined;
  const actions = isTenant(p) ? tenantActions : BULK_ACTIONS;
  return html`<form id="bulk" class="bulk" method="post" action="/ui/machines/bulk/preview">${hidden('_csrf', pc.csrf)}${hidden('filter', filterText(f))}
<fieldset ${reason ? html`disabled` : ''}><legend>Bulk action</legend>
<label>Action <select name="action">${actions.map((a) => html`<option value="${a}">${BULK_LABELS[a]}</option>`)}</select></label>
<label><input type="radio" name="scope" value="selected" checked> the rows ticked below</label>
<label><input type="radio" name="scope" value="filter" id="scope-filter"> all ${total} matching this filter</label>
<button type="submit" id="bulk-review">Review…</button></fieldset>
${reason ? html`<span class="reason" id="bulk-reason">${reason}</span>` : html`<span class="muted">at most ${BULK_CAP} at once; you confirm on the next page${isTenant(p) ? '; a tenant may release its own machines' : ''}</span>`}</form>`;
}

function names(targets: Target[], id: string): Html {
  const shown = targets.slice(0, NAMES_SHOWN);
  const more = targets.length - shown.length;
  return html`<ul class="targets" id="${id}">${shown.map((t) => html`<li>${t.name}${t.skip ? html` <span class="reason">(${t.skip})</span>` : ''}</li>`)}</ul>${more > 0 ? html`<p class="muted">and ${more} more.</p>` : ''}`;
}

/** The carried request: what the apply step resolves again. */
function requestFields(r: BulkRequest): Html {
  return html`${hidden('action', r.action)}${hidden('scope', r.scope)}${hidden('filter', r.filterText)}${r.scope === 'selected' ? r.names.map((n) => hidden('machine', n)) : ''}`;
}

export function confirmPage(pc: PageContext, r: BulkRequest, targets: Target[], notice?: string): Html {
  const acting = targets.filter((t) => !t.skip);
  const skipped = targets.filter((t) => t.skip);
  const label = BULK_LABELS[r.action];
  const what = r.scope === 'filter' ? 'every machine matching the filter' : 'the machines ticked';
  return page(`Confirm: ${label}`, '/ui/machines', pc, html`<h1>Confirm: ${label}</h1>
${notice ? html`<p class="error" role="alert" id="bulk-notice">${notice}</p>` : ''}
<p id="bulk-summary">${acting.length ? html`<strong>${plural(acting.length, 'machine')}</strong> of ${what} will be ${BULK_EFFECTS[r.action]}, each on its own:` : html`Nothing to do: none of ${what} can take this action now.`}</p>
${acting.length ? names(acting, 'bulk-acting') : ''}
${skipped.length ? html`<h2>Skipped: ${plural(skipped.length, 'machine')}</h2>${names(skipped, 'bulk-skipped')}` : ''}
<form method="post" action="/ui/machines/bulk/apply" class="actions">${hidden('_csrf', pc.csrf)}${requestFields(r)}${hidden('selection', selectionDigest(r.action, targets))}
${acting.length ? html`<button type="submit" id="bulk-confirm">${label}: ${plural(acting.length, 'machine')}</button>` : ''} <a href="${listUrl(r.filterText)}">Cancel</a></form>`);
}

export function resultPage(pc: PageContext, r: BulkRequest, outcomes: Outcome[]): Html {
  const accepted = outcomes.filter((o) => o.accepted).length;
  const label = BULK_LABELS[r.action];
  return page(`${label}: result`, '/ui/machines', pc, html`<h1>${label}: result</h1>
<p id="bulk-counts" role="status">${accepted} accepted, ${outcomes.length - accepted} refused.</p>
<table class="bulk-result"><thead><tr><th>Machine</th><th>Result</th><th>Now, or why not</th></tr></thead><tbody>
${outcomes.map((o) => html`<tr data-bulk-machine="${o.name}"><td><a href="/ui/machines/${encodeURIComponent(o.name)}">${o.name}</a></td><td class="${o.accepted ? 'accepted' : 'refused'}">${o.accepted ? 'accepted' : 'refused'}</td><td>${o.says}</td></tr>`)}
</tbody></table><p><a href="${listUrl(r.filterText)}">Back to the list</a></p>`);
}

