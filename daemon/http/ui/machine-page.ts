// One machine: what it is, its state, last error, action buttons, facts and its events timeline.
// Everything that moves lives in one section that refreshes itself when the machine's history does.
import { html, type Html } from './html.js';
import { page, stateBadge, time, type PageContext } from './layout.js';
import { eventsTable } from './overview.js';
import { factsTables, operationsSection, powerSection, traceSection } from './machine-sections.js';
import { isTenant } from '../api/scope.js';
import type { Principal } from '../api/tokens.js';
import { machineEvents, OPERATOR_EVENTS } from '../../core/lifecycle.js';
import type { EventRecord, MachineRecord } from '../../core/store/types.js';

/** The buttons the dashboard offers, in order, with what each one will do (the confirmation). */
export const UI_ACTIONS = ['inspect', 'deploy', 'release', 'maintenance_on', 'maintenance_off'] as const;
export type UiAction = (typeof UI_ACTIONS)[number];

const LABELS: Record<UiAction, string> = {
  inspect: 'Inspect', deploy: 'Deploy', release: 'Release', maintenance_on: 'Maintenance on', maintenance_off: 'Maintenance off',
};

export const profileOf = (m: MachineRecord): string | null => m.deployProfile ?? m.profile;

export function confirmation(m: MachineRecord, a: UiAction): string {
  switch (a) {
    case 'inspect': return `Inspect ${m.name}: it is power-cycled into the agent, which reports its hardware facts. It leaves ${m.state} for inspecting.`;
    case 'deploy': return `Deploy profile ${profileOf(m)} onto ${m.name}: its disk is overwritten.`;
    case 'release': return m.state === 'deployed'
      ? `Release ${m.name}: its disks are erased, then it returns to the pool.`
      : `Release ${m.name}: it returns to the pool (nothing was deployed).`;
    case 'maintenance_on': return `Put ${m.name} into maintenance: Rackhand does nothing with it until maintenance ends.`;
    case 'maintenance_off': return `End maintenance of ${m.name}: it returns to the state it was in.`;
  }
}

/** Why this principal may not do `a` to this machine now, or undefined when it may. */
export function actionRefusal(p: Principal, m: MachineRecord, a: UiAction): string | undefined {
  if (p.role === 'readonly') return `token ${p.name} is read-only: it can look, not act`;
  if (isTenant(p) && a !== 'release') return 'an operator\'s action: a tenant token may only release its machines';
  if (!machineEvents(m, OPERATOR_EVENTS).includes(a)) return `not from state ${m.state}`;
  if (a === 'deploy' && !profileOf(m)) return 'the machine has no profile';
  return undefined;
}

function actions(pc: PageContext, m: MachineRecord): Html {
  const url = (a: UiAction) => `/ui/machines/${encodeURIComponent(m.name)}/actions/${a}`;
  const reasons = new Set<string>();
  const buttons = UI_ACTIONS.map((a) => {
    const refusal = actionRefusal(pc.principal, m, a);
    if (refusal) {
      reasons.add(refusal);
      return html`<button type="button" disabled title="${refusal}" data-action="${a}">${LABELS[a]}</button>`;
    }
    return html`<form method="post" action="${url(a)}" hx-post="${url(a)}" hx-confirm="${confirmation(m, a)}" hx-target="#action-notice" hx-swap="innerHTML">
<input type="hidden" name="_csrf" value="${pc.csrf}"><button type="submit" data-action="${a}">${LABELS[a]}</button></form>`;
  });
  // A read-only token's buttons share one reason: say it once, beside them.
  const shared = pc.principal.role === 'readonly' ? [...reasons][0] : undefined;
  return html`<div class="actions">${buttons}${shared ? html`<span class="reason" id="action-reason">${shared}</span>` : ''}</div>`;
}

export function machineLive(pc: PageContext, m: MachineRecord, events: EventRecord[]): Html {
  return html`<section id="machine-live" data-live-machine="${m.name}" hx-get="/ui/machines/${encodeURIComponent(m.name)}/live" hx-trigger="rh:live delay:100ms" hx-swap="outerHTML">
<dl class="kv"><dt>State</dt><dd id="machine-state">${stateBadge(m.state)} since ${time(m.stateChangedAt)}${m.previousState ? html` <span class="muted">(was ${m.previousState})</span>` : ''}</dd>
<dt>Owner</dt><dd>${m.owner ?? html`<span class="muted">none</span>`}</dd>
<dt>Profile</dt><dd>${profileOf(m) ?? html`<span class="muted">none</span>`}</dd></dl>
<h2>Last error</h2>${m.lastError ? html`<p class="error" id="last-error">${m.lastError}</p>` : html`<p class="muted">None.</p>`}
<h2>Actions</h2>${actions(pc, m)}
<h2>Facts</h2>${factsTables(m.facts)}
<h2>Timeline</h2>${eventsTable(events, { machineColumn: false })}
</section>`;
}

export function machinePage(pc: PageContext, m: MachineRecord, events: EventRecord[]): Html {
  const power = isTenant(pc.principal) ? m.power.driver : [m.power.driver, m.power.address].filter(Boolean).join(' at ');
  return page(m.name, '/ui/machines', pc, html`<h1>${m.name}</h1>
<dl class="kv"><dt>MAC</dt><dd>${m.mac}</dd><dt>IP</dt><dd>${m.ip ?? ''}</dd><dt>Hostname</dt><dd>${m.hostname}</dd>
<dt>Tags</dt><dd>${m.tags.join(', ')}</dd><dt>Power</dt><dd>${power}</dd><dt>Source</dt><dd>${m.source}${m.accepted ? '' : ' (not accepted yet)'}</dd></dl>
<p class="notice" id="action-notice" role="status" aria-live="polite"></p>
${powerSection(pc, m.name)}
${machineLive(pc, m, events)}
${isTenant(pc.principal) ? html`<p class="muted" id="operator-only">Operations and the boot trace are shown to operators only: a machine's past may belong to an earlier tenant.</p>`
    : [operationsSection(m.name), traceSection(m.name)]}`);
}
