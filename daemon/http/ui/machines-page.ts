// The machines list: filters in the URL (a plain GET form), sortable headers, one page at a time.
import { html, type Html } from './html.js';
import { page, stateBadge, time, type PageContext } from './layout.js';
import { filterQuery, type MachineFilter, type Page, type SortColumn, type Term } from './filter.js';
import { ALL_STATES } from '../../core/lifecycle.js';
import type { MachineRecord } from '../../core/store/types.js';

const machineUrl = (name: string) => `/ui/machines/${encodeURIComponent(name)}`;

/** One row; it refreshes itself when its machine's history moves (same cells, same height). */
export function machineRow(m: MachineRecord): Html {
  return html`<tr data-live-machine="${m.name}" hx-get="${machineUrl(m.name)}/row" hx-trigger="rh:live delay:100ms" hx-swap="outerHTML">
<td><a href="${machineUrl(m.name)}">${m.name}</a></td><td>${stateBadge(m.state)}</td><td>${m.owner ?? ''}</td><td class="hide-narrow">${m.deployProfile ?? m.profile ?? ''}</td>
<td class="hide-narrow">${m.mac}</td><td>${m.ip ?? ''}</td><td class="hide-narrow">${time(m.stateChangedAt)}</td></tr>`;
}

const COLUMNS: [SortColumn, string, boolean][] = [
  ['name', 'Name', false], ['state', 'State', false], ['owner', 'Owner', false], ['profile', 'Profile', true],
  ['mac', 'MAC', true], ['ip', 'IP', false], ['changed', 'State since', true],
];

function header(f: MachineFilter): Html {
  return html`<tr>${COLUMNS.map(([col, label, narrow]) => {
    const active = f.sort === col;
    const dir = active && f.dir === 'asc' ? 'desc' : 'asc';
    const sort = active ? (f.dir === 'asc' ? 'ascending' : 'descending') : 'none';
    return html`<th aria-sort="${sort}" ${narrow ? html`class="hide-narrow"` : ''}><a href="/ui/machines${filterQuery(f, { sort: col, dir, page: 1 })}">${label}${active ? (f.dir === 'asc' ? ' ▲' : ' ▼') : ''}</a></th>`;
  })}</tr>`;
}

const termText = (t?: Term) => (t ? (t.negated ? '!' : '') + t.value : '');

function filters(f: MachineFilter): Html {
  const stateText = termText(f.state);
  return html`<form class="filters" method="get" action="/ui/machines" role="search">
<label>Text (name, MAC, IP)<input name="q" value="${termText(f.q)}" placeholder="node-0 or !10.20."></label>
<label>State<select name="state"><option value="">any</option>${ALL_STATES.flatMap((s) => [
    html`<option value="${s}" ${stateText === s ? html`selected` : ''}>${s}</option>`,
    html`<option value="!${s}" ${stateText === `!${s}` ? html`selected` : ''}>not ${s}</option>`])}</select></label>
<label>Owner<input name="owner" value="${termText(f.owner)}" size="12"></label>
<label>Profile<input name="profile" value="${termText(f.profile)}" size="12"></label>
${f.sort !== 'name' ? html`<input type="hidden" name="sort" value="${f.sort}">` : ''}${f.dir !== 'asc' ? html`<input type="hidden" name="dir" value="${f.dir}">` : ''}
<button type="submit">Filter</button> <a href="/ui/machines">Clear</a>
<span class="muted">A leading ! negates a filter.</span></form>`;
}

export function machinesPage(pc: PageContext, f: MachineFilter, p: Page<MachineRecord>): Html {
  return page('Machines', '/ui/machines', pc, html`<h1>Machines</h1>${filters(f)}
<p class="muted" id="machine-count">${p.total} machine${p.total === 1 ? '' : 's'} match; page ${p.page} of ${p.pages}.</p>
<table class="machines"><thead>${header(f)}</thead><tbody>${p.rows.map(machineRow)}</tbody></table>
<nav class="pager" aria-label="Pages">${p.page > 1 ? html`<a rel="prev" href="/ui/machines${filterQuery(f, { page: p.page - 1 })}">← Previous</a>` : ''}
${p.page < p.pages ? html`<a rel="next" href="/ui/machines${filterQuery(f, { page: p.page + 1 })}">Next →</a>` : ''}</nav>`);
}
