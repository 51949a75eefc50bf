// The machines list: filters in the URL (a plain GET form), sortable headers, a column chooser,
// one page at a time, a checkbox per row (and one in the header ticking every row of the page)
// and the bulk-action form (bulk-page.ts renders what follows it). Column widths are fixed by a
// <colgroup>, so a row swapped by a live update keeps the table's layout; a ticked checkbox
// survives the swap (hx-preserve keeps the element). A row refreshes itself with the page's
// filter: one that no longer matches it is dimmed and says so, in place, until the next reload.
import { html, type Html } from './html.js';
import { page, stateBadge, time, type PageContext } from './layout.js';
import { COLUMNS, filterQuery, isDefaultColumns, termText, type Column, type MachineFilter, type Page, type SortColumn } from './filter.js';
import { bulkForm } from './bulk-page.js';
import { ALL_STATES } from '../../core/lifecycle.js';
import { machineArch } from '../../core/store/machine-query.js';
import type { MachineRecord } from '../../core/store/types.js';

const machineUrl = (name: string) => `/ui/machines/${encodeURIComponent(name)}`;

interface ColumnSpec { label: string; sort?: SortColumn; narrow: boolean; cell: (m: MachineRecord) => Html | string }

const SPECS: Record<Column, ColumnSpec> = {
  name: { label: 'Name', sort: 'name', narrow: false, cell: (m) => html`<a href="${machineUrl(m.name)}">${m.name}</a>` },
  state: { label: 'State', sort: 'state', narrow: false, cell: (m) => stateBadge(m.state) },
  owner: { label: 'Owner', sort: 'owner', narrow: false, cell: (m) => m.owner ?? '' },
  profile: { label: 'Profile', sort: 'profile', narrow: true, cell: (m) => m.deployProfile ?? m.profile ?? '' },
  tags: { label: 'Tags', narrow: true, cell: (m) => m.tags.join(', ') },
  arch: { label: 'Arch', narrow: true, cell: (m) => machineArch(m) ?? '' },
  mac: { label: 'MAC', sort: 'mac', narrow: true, cell: (m) => m.mac },
  ip: { label: 'IP', sort: 'ip', narrow: false, cell: (m) => m.ip ?? '' },
  changed: { label: 'State since', sort: 'changed', narrow: true, cell: (m) => time(m.stateChangedAt) },
};

const narrow = (c: Column) => (SPECS[c].narrow ? html` class="hide-narrow"` : '');

export interface RowOptions {
  /** The page's filter (its terms and columns): the row refreshes itself with it. */
  filter: MachineFilter;
  /** Whether the principal may act at all (a read-only token's checkboxes are disabled). */
  canAct: boolean;
  /** The machine no longer matches the filter (a live update changed it): dimmed, and says so. */
  stale?: boolean;
}

/** What a row asks for when it refreshes: the filter's terms and columns, not its page or order. */
export const rowUrl = (name: string, f: MachineFilter): string =>
  `${machineUrl(name)}/row${filterQuery({ ...f, sort: 'name', dir: 'asc', page: 1 })}`;

/**
 * One row; it refreshes itself (same columns, same filter) when its machine's history moves. The
 * checkbox sits in the name's cell (no text of its own: the cell reads as the name). A stale row
 * stays where it was, the same height (its note is on the name's one line), so nothing jumps.
 */
export function machineRow(m: MachineRecord, o: RowOptions): Html {
  const box = html`<input type="checkbox" form="bulk" name="machine" value="${m.name}" id="sel-${m.name}" hx-preserve="true" aria-label="select ${m.name}"${o.canAct ? '' : html` disabled`}>`;
  const note = o.stale ? html` <span class="stale-note">no longer matches</span>` : '';
  return html`<tr data-live-machine="${m.name}" hx-get="${rowUrl(m.name, o.filter)}" hx-trigger="rh:live delay:100ms" hx-swap="outerHTML"${o.stale ? html` class="stale" data-stale="true" title="${m.name} no longer matches this filter; it leaves the list when the page is reloaded"` : ''}>
${o.filter.cols.map((c) => html`<td${narrow(c)}>${c === 'name' ? box : ''}${SPECS[c].cell(m)}${c === 'name' ? note : ''}</td>`)}</tr>`;
}

/** The header's box ticking every row of this page; hidden until the script shows it (machines-script.ts). */
const tickPage = (canAct: boolean) =>
  html`<input type="checkbox" id="tick-page" aria-label="Tick every row on this page" title="Tick every row on this page" hidden${canAct ? '' : html` disabled`}>`;

function header(f: MachineFilter, canAct: boolean): Html {
  return html`<tr>${f.cols.map((c) => {
    const spec = SPECS[c];
    const lead = c === 'name' ? tickPage(canAct) : '';
    if (!spec.sort) return html`<th${narrow(c)}>${lead}${spec.label}</th>`;
    const active = f.sort === spec.sort;
    const dir = active && f.dir === 'asc' ? 'desc' : 'asc';
    const sort = active ? (f.dir === 'asc' ? 'ascending' : 'descending') : 'none';
    return html`<th aria-sort="${sort}"${narrow(c)}>${lead}<a href="/ui/machines${filterQuery(f, { sort: spec.sort, dir, page: 1 })}">${spec.label}${active ? (f.dir === 'asc' ? ' ▲' : ' ▼') : ''}</a></th>`;
  })}</tr>`;
}

const hidden = (name: string, value: string) => html`<input type="hidden" name="${name}" value="${value}">`;

/** The fields of `f` a form must carry besides its own (sort, direction, columns, filters). */
function carried(f: MachineFilter, own: 'filters' | 'columns'): Html[] {
  const out: Html[] = [];
  if (own === 'columns') for (const k of ['state', 'owner', 'profile', 'tag', 'arch', 'q'] as const) if (f[k]) out.push(hidden(k, termText(f[k])));
  if (own === 'filters' && !isDefaultColumns(f.cols)) out.push(hidden('cols', f.cols.join(',')));
  if (f.sort !== 'name') out.push(hidden('sort', f.sort));
  if (f.dir !== 'asc') out.push(hidden('dir', f.dir));
  return out;
}

function filters(f: MachineFilter): Html {
  const stateText = termText(f.state);
  const input = (name: 'owner' | 'profile' | 'tag' | 'arch', label: string, placeholder = '') =>
    html`<label>${label}<input name="${name}" value="${termText(f[name])}" size="10" placeholder="${placeholder}"></label>`;
  return html`<form class="filters" method="get" action="/ui/machines" role="search">
<label>Text (name, MAC, IP, hostname)<input name="q" value="${termText(f.q)}" placeholder="node-0 or !10.20."></label>
<label>State<select name="state"><option value="">any</option>${ALL_STATES.flatMap((s) => [
    html`<option value="${s}" ${stateText === s ? html`selected` : ''}>${s}</option>`,
    html`<option value="!${s}" ${stateText === `!${s}` ? html`selected` : ''}>not ${s}</option>`])}</select></label>
${input('owner', 'Owner')}${input('profile', 'Profile')}${input('tag', 'Tag', 'gpu or !gpu')}${input('arch', 'Arch', 'x86_64')}
${carried(f, 'filters')}<button type="submit">Filter</button> <a href="/ui/machines${filterQuery({ ...f, state: undefined, owner: undefined, profile: undefined, tag: undefined, arch: undefined, q: undefined, page: 1 })}">Clear</a>
<span class="muted">A leading ! negates a filter.</span></form>`;
}

/** Which columns are shown: a GET form, so the choice is in the URL like the filters. */
function columnChooser(f: MachineFilter): Html {
  return html`<details class="columns"><summary>Columns</summary><form method="get" action="/ui/machines" id="column-chooser">
${carried(f, 'columns')}<input type="hidden" name="cols" value="name">
${COLUMNS.filter((c) => c !== 'name').map((c) => html`<label><input type="checkbox" name="cols" value="${c}" ${f.cols.includes(c) ? html`checked` : ''}> ${SPECS[c].label}</label> `)}
<button type="submit">Show</button></form></details>`;
}

/** Fixed widths per column: the layout does not move when a live row arrives. */
const colgroup = (cols: readonly Column[]) => html`<colgroup>${cols.map((c) => html`<col class="c-${c}${SPECS[c].narrow ? ' hide-narrow' : ''}">`)}</colgroup>`;

export function machinesPage(pc: PageContext, f: MachineFilter, p: Page<MachineRecord>): Html {
  const canAct = pc.principal.role !== 'readonly';
  return page('Machines', '/ui/machines', pc, html`<h1>Machines</h1>${filters(f)}${columnChooser(f)}
<p class="muted" id="machine-count">${p.total} machine${p.total === 1 ? '' : 's'} match; page ${p.page} of ${p.pages}.</p>
${bulkForm(pc, f, p.total)}
<table class="machines">${colgroup(f.cols)}<thead>${header(f, canAct)}</thead><tbody>${p.rows.map((m) => machineRow(m, { filter: f, canAct }))}</tbody></table>
<nav class="pager" aria-label="Pages">${p.page > 1 ? html`<a rel="prev" href="/ui/machines${filterQuery(f, { page: p.page - 1 })}">← Previous</a>` : ''}
${p.page < p.pages ? html`<a rel="next" href="/ui/machines${filterQuery(f, { page: p.page + 1 })}">Next →</a>` : ''}</nav>`);
}
