// The overview page: machines per state and the latest events, refreshed live as one section.
import { html, type Html } from './html.js';
import { page, stateBadge, time, type PageContext } from './layout.js';
import { ALL_STATES, STATES } from '../../core/lifecycle.js';
import type { EventRecord, MachineRecord } from '../../core/store/types.js';

export function eventsTable(events: EventRecord[], opts: { machineColumn: boolean }): Html {
  if (!events.length) return html`<p class="muted">No events yet.</p>`;
  return html`<table class="events"><thead><tr><th class="hide-narrow">When</th>${opts.machineColumn ? html`<th>Machine</th>` : ''}<th>What</th><th>Who</th><th>Why</th></tr></thead><tbody>
${events.map((e) => html`<tr><td class="hide-narrow">${time(e.time)}</td>${opts.machineColumn ? html`<td>${e.machine ? html`<a href="/ui/machines/${encodeURIComponent(e.machine)}">${e.machine}</a>` : html`<span class="muted">–</span>`}</td>` : ''}
<td>${e.from && e.to ? html`${e.event ?? e.kind}: ${e.from} → ${e.to}` : e.event ?? e.kind}</td><td>${e.actor}</td><td title="${e.cause ?? ''}">${e.cause ?? ''}</td></tr>`)}
</tbody></table>`;
}

export function overviewLive(machines: MachineRecord[], events: EventRecord[]): Html {
  const counts = new Map<string, number>(ALL_STATES.map((s) => [s, 0]));
  for (const m of machines) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
  return html`<section id="overview-live" data-live-any hx-get="/ui/overview/live" hx-trigger="rh:live delay:150ms" hx-swap="outerHTML">
<h2>Machines per state <span class="muted">(${machines.length} in all)</span></h2>
<ul class="counts">${ALL_STATES.map((s) => html`<li title="${STATES[s]}"><a href="/ui/machines?state=${s}">${stateBadge(s)}</a><span class="n" data-state-count="${s}">${counts.get(s) ?? 0}</span></li>`)}</ul>
<h2>Latest events</h2>${eventsTable(events, { machineColumn: true })}
</section>`;
}

export const overviewPage = (pc: PageContext, machines: MachineRecord[], events: EventRecord[]): Html =>
  page('Overview', '/ui/', pc, html`<h1>Overview</h1>${overviewLive(machines, events)}`);
