// The overview page: machines per state, failures of the last 24 h with their reasons and work in
// flight with its progress, refreshed live as one section (on every `any` event, and every few
// seconds while work runs: progress moves without events); the latest events in another. Operators also
// see the health of this daemon's services, its BMC queues and the racks, in a section of its own
// that refreshes by itself; a tenant sees its own machines' counts, failures and work, and no
// infrastructure.
import { html, type Html } from './html.js';
import { page, stateBadge, time, type PageContext } from './layout.js';
import { ALL_STATES, STATES } from '../../core/lifecycle.js';
import { progressText, type FailureReport, type Work } from './overview-data.js';
import type { ServiceHealth } from './health.js';
import type { RackStatus } from '../api/racks.js';
import type { EventRecord, StateCounts } from '../../core/store/types.js';

export function eventsTable(events: EventRecord[], opts: { machineColumn: boolean }): Html {
  if (!events.length) return html`<p class="muted">No events yet.</p>`;
  return html`<table class="events"><thead><tr><th class="hide-narrow">When</th>${opts.machineColumn ? html`<th>Machine</th>` : ''}<th>What</th><th>Who</th><th>Why</th></tr></thead><tbody>
${events.map((e) => html`<tr><td class="hide-narrow">${time(e.time)}</td>${opts.machineColumn ? html`<td>${e.machine ? html`<a href="/ui/machines/${encodeURIComponent(e.machine)}">${e.machine}</a>` : html`<span class="muted">–</span>`}</td>` : ''}
<td>${e.from && e.to ? html`${e.event ?? e.kind}: ${e.from} → ${e.to}` : e.event ?? e.kind}</td><td>${e.actor}</td><td title="${e.cause ?? ''}">${e.cause ?? ''}</td></tr>`)}
</tbody></table>`;
}

const machineLink = (name: string) => html`<a href="/ui/machines/${encodeURIComponent(name)}">${name}</a>`;

function failuresTable(r: FailureReport): Html {
  const cut = r.readFrom ? html` <span class="muted">(events read back to ${time(r.readFrom)} only)</span>` : '';
  if (!r.failures.length) return html`<p class="muted" id="no-failures">No machine failed in the last 24 h.${cut}</p>`;
  return html`${cut ? html`<p>${cut}</p>` : ''}<div class="table-scroll"><table class="failures"><thead><tr><th>Machine</th><th>When</th><th>From</th><th>Why</th><th class="hide-narrow">Who</th></tr></thead><tbody>
${r.failures.map((f) => html`<tr data-failure="${f.machine}"><td>${machineLink(f.machine)}</td><td>${time(f.time)}</td><td>${f.from ?? ''}</td><td class="cause" title="${f.cause ?? ''}">${f.cause ?? ''}</td><td class="hide-narrow">${f.actor}</td></tr>`)}
</tbody></table></div>`;
}

/** A progress bar a screen reader reads too: the <progress> is labelled by the same text that is shown. */
export function progressCell(w: Work): Html {
  const text = progressText(w);
  if (!text) return html`<span class="muted">–</span>`;
  const id = `progress-${w.machine}`;
  return w.total
    ? html`<progress max="${w.total}" value="${Math.min(w.bytes ?? 0, w.total)}" aria-labelledby="${id}">${text}</progress><span class="progress-text" id="${id}">${text}</span>`
    : html`<span class="progress-text" id="${id}">${text}</span>`;
}

function workTable(work: Work[], more: number): Html {
  if (!work.length) return html`<p class="muted" id="no-work">Nothing running.</p>`;
  return html`<div class="table-scroll"><table class="work"><thead><tr><th>Machine</th><th>Work</th><th>Step</th><th>Progress</th><th class="hide-narrow">Since</th></tr></thead><tbody>
${work.map((w) => html`<tr data-work="${w.machine}"><td>${machineLink(w.machine)}</td><td>${w.kind}</td><td>${w.step ?? html`<span class="muted">booting</span>`}</td><td>${progressCell(w)}</td><td class="hide-narrow">${time(w.started)}</td></tr>`)}
</tbody></table></div>${more ? html`<p class="muted">and ${more} more.</p>` : ''}`;
}

export interface OverviewData { counts: StateCounts; failures: FailureReport; work: Work[]; moreWork: number }

export function overviewLive(d: OverviewData): Html {
  const all = ALL_STATES.reduce((n, s) => n + (d.counts[s] ?? 0), 0);
  // While something runs, its bytes move without an event: look again every few seconds.
  const trigger = `rh:live delay:150ms${d.work.length ? ', every 3s' : ''}`;
  return html`<section id="overview-live" data-live-any hx-get="/ui/overview/live" hx-trigger="${trigger}" hx-swap="outerHTML">
<h2>Machines per state <span class="muted">(${all} in all)</span></h2>
<ul class="counts">${ALL_STATES.map((s) => html`<li title="${STATES[s]}"><a href="/ui/machines?state=${s}">${stateBadge(s)}</a><span class="n" data-state-count="${s}">${d.counts[s] ?? 0}</span></li>`)}</ul>
<h2>Failures, last 24 h <span class="muted">(${d.failures.failures.length})</span></h2>${failuresTable(d.failures)}
<h2>Work in flight <span class="muted">(${d.work.length + d.moreWork})</span></h2>${workTable(d.work, d.moreWork)}
</section>`;
}

export const overviewEvents = (events: EventRecord[]): Html => html`<section id="overview-events" data-live-any hx-get="/ui/overview/events" hx-trigger="rh:live delay:150ms" hx-swap="outerHTML">
<h2>Latest events</h2><div class="table-scroll">${eventsTable(events, { machineColumn: true })}</div></section>`;

function racksTable(racks: RackStatus[]): Html {
  return html`<h3>Racks</h3><div class="table-scroll"><table class="racks"><thead><tr><th>Rack</th><th>Daemon</th><th>Heard</th><th>Machines</th><th class="hide-narrow">Open work</th><th class="hide-narrow">Standing in for</th></tr></thead><tbody>
${racks.map((r) => html`<tr data-rack="${r.name}"><td>${r.name}</td><td>${r.alive ? html`<span class="up">up</span>` : html`<span class="down">silent</span>`} ${r.daemon ?? ''}</td>
<td>${time(r.heartbeat_at)}</td><td>${r.machines}</td><td class="hide-narrow">${r.open_work}</td><td class="hide-narrow">${r.standing_in_for.join(', ')}</td></tr>`)}
</tbody></table></div>`;
}

/** Operators only: this daemon's services, its BMC queues and (with racks) every rack. */
export function overviewHealth(services: ServiceHealth[], racks: RackStatus[] | undefined): Html {
  return html`<section id="overview-health" hx-get="/ui/overview/health" hx-trigger="every 10s, rh:live delay:500ms" data-live-any hx-swap="outerHTML">
<h2>Rack and service health <span class="muted">(this daemon)</span></h2>
<ul class="health">${services.map((s) => html`<li data-service="${s.name}"><strong class="${s.status}">${s.name}</strong> <span class="muted">${s.status === 'off' ? 'off' : s.status}</span>
${s.detail.map((line) => html`<span class="detail">${line}</span>`)}</li>`)}</ul>
${racks === undefined ? html`<p class="muted" id="racks-unknown">Racks: unknown while the store is unavailable.</p>` : racks.length ? racksTable(racks) : ''}</section>`;
}

/** Counts, failures and work first; then (operators) health; then the latest events. */
export const overviewPage = (pc: PageContext, d: OverviewData, events: EventRecord[], health?: Html): Html =>
  page('Overview', '/ui/', pc, html`<h1>Overview</h1>${overviewLive(d)}${health ?? ''}${overviewEvents(events)}`);

/** During a store outage: what is known without it (this daemon's services), and why the rest is missing. */
export const overviewWithoutStore = (pc: PageContext, health: Html): Html =>
  page('Overview', '/ui/', pc, html`<h1>Overview</h1>
<p class="error" role="alert" id="store-unavailable">The store (the daemon's database) is unavailable: machines, failures, work and events cannot be read. The daemon reconnects by itself; the machines show here again once it is back.</p>
<div id="overview-live" hx-get="/ui/overview/live" hx-trigger="every 5s" hx-swap="outerHTML"></div>${health}`);
