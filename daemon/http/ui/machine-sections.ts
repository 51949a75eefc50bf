// The machine page's sections that load on their own (machine-routes.ts serves them): power
// (read on demand, so a page never waits on a BMC, and its actions), the machine's operations with
// the log of the latest, the boot trace as one timeline (newest last), and the facts as tables.
// Every value here may come from a machine or the network: it reaches the page only through html``.
import { html, type Html } from './html.js';
import { time } from './layout.js';
import type { PageContext } from './layout.js';
import { isTenant } from '../api/scope.js';
import type { Principal } from '../api/tokens.js';
import type { TraceEntry } from '../../core/boot-trace.js';
import type { OplogEntry } from '../../core/oplog.js';
import type { OperationRecord } from '../../core/store/types.js';
import { POWER_ACTIONS, type PowerAction } from '../api/power-change.js';

const enc = encodeURIComponent;

export function powerConfirmation(name: string, a: PowerAction): string {
  switch (a) {
    case 'on': return `Power on ${name} through its BMC.`;
    case 'off': return `Power off ${name} through its BMC: it stops at once, without a shutdown.`;
    case 'cycle': return `Power-cycle ${name} through its BMC: it is cut off and started again, without a shutdown.`;
  }
}

/** Why this principal may not drive power, or undefined when it may. */
export function powerRefusal(p: Principal): string | undefined {
  if (p.role === 'readonly') return `token ${p.name} is read-only: it can look, not act`;
  if (isTenant(p)) return 'power is an operator\'s tool: a tenant token may read the state, not change it';
  return undefined;
}

/** The power section: the state is read only when asked (a BMC can take seconds), the actions confirm first. */
export function powerSection(pc: PageContext, name: string): Html {
  const refusal = powerRefusal(pc.principal);
  const url = `/ui/machines/${enc(name)}/power`;
  const buttons = POWER_ACTIONS.map((a) => (refusal
    ? html`<button type="button" disabled title="${refusal}" data-power="${a}">Power ${a}</button>`
    : html`<form method="post" action="${url}/${a}" hx-post="${url}/${a}" hx-confirm="${powerConfirmation(name, a)}" hx-target="#power-state" hx-swap="innerHTML">
<input type="hidden" name="_csrf" value="${pc.csrf}"><button type="submit" data-power="${a}">Power ${a}</button></form>`));
  return html`<section id="power" aria-labelledby="power-h"><h2 id="power-h">Power</h2>
<div class="power-line"><span id="power-state" role="status" aria-live="polite" class="muted">not read yet: reading asks the BMC</span>
<button type="button" id="power-read" hx-get="${url}" hx-target="#power-state" hx-swap="innerHTML" hx-indicator="#power-state">Read power state</button></div>
<div class="actions">${buttons}${refusal ? html`<span class="reason" id="power-reason">${refusal}</span>` : ''}</div></section>`;
}

export function powerStateText(r: { state: string; read_at: string; cached: boolean; driver: string }): Html {
  return html`<strong data-power-state="${r.state}">${r.state}</strong> <span class="muted">(${r.driver}, read ${time(r.read_at)}${r.cached ? ', from the cache' : ''})</span>`;
}

export const powerError = (message: string): Html => html`<span class="error">${message}</span>`;

/**
 * A section that fetches itself when the page loads, then again on its machine's live events and
 * every `everyS` seconds; `version` (a digest of what it shows) lets the server answer 204 when
 * nothing changed, so htmx keeps the DOM (an open <details>, a scrolled log) as it is.
 */
function selfLoading(id: string, name: string, path: string, body: Html | undefined, o: { everyS?: number; version?: string; label: string }): Html {
  const url = `/ui/machines/${enc(name)}/${path}${o.version ? `?v=${enc(o.version)}` : ''}`;
  const trigger = body === undefined ? 'load' : `rh:live delay:200ms${o.everyS ? `, every ${o.everyS}s` : ''}`;
  return html`<section id="${id}" aria-label="${o.label}" data-live-machine="${name}" hx-get="${url}" hx-trigger="${trigger}" hx-swap="outerHTML">
${body ?? html`<p class="muted">Loading…</p>`}</section>`;
}

// ---- operations -------------------------------------------------------------------------------

const progressText = (op: OperationRecord): string => {
  const p = op.progress as { bytes?: number; total?: number } | null;
  if (!p || typeof p.bytes !== 'number') return '';
  return typeof p.total === 'number' && p.total > 0 ? `${Math.floor((100 * p.bytes) / p.total)} % (${p.bytes} of ${p.total} bytes)` : `${p.bytes} bytes`;
};

export function operationsSection(name: string, data?: { operations: OperationRecord[]; log?: { op: OperationRecord; entries: OplogEntry[] }; version: string }): Html {
  if (!data) return selfLoading('machine-ops', name, 'operations', undefined, { label: 'Operations' });
  const running = data.operations.some((o) => o.state === 'running');
  const rows = data.operations.map((o) => html`<tr data-operation="${o.id}"><td>${o.id}</td><td>${o.kind}</td><td><span class="op-${o.state}">${o.state}</span></td>
<td>${o.step ?? ''}</td><td>${progressText(o)}</td><td>${time(o.createdAt)}</td><td>${time(o.finishedAt)}</td><td title="${o.error ?? ''}">${o.error ?? ''}</td></tr>`);
  const log = data.log;
  const body = html`<h2>Operations</h2>
${data.operations.length ? html`<table class="ops"><thead><tr><th>ID</th><th>Kind</th><th>State</th><th>Step</th><th>Progress</th><th>Started</th><th>Finished</th><th>Error</th></tr></thead><tbody>${rows}</tbody></table>` : html`<p class="muted">No operations yet.</p>`}
${log ? html`<h3>Log of ${log.op.kind} ${log.op.id} <span class="muted">(${log.op.state}${running ? ', live' : ''})</span></h3>
<pre id="op-log" class="oplog">${log.entries.map((e) => html`<span class="src-${e.source}">${e.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}  ${e.source === 'agent' ? 'agent   ' : 'rackhand'}  ${e.text}</span>\n`)}</pre>` : ''}`;
  // While an operation runs, the agent's lines (which are not events) are fetched every 3 s too.
  return selfLoading('machine-ops', name, 'operations', body, { everyS: running ? 3 : undefined, version: data.version, label: 'Operations' });
}

// ---- boot trace ---------------------------------------------------------------------------------

const KIND_LABEL: Record<string, string> = { dhcp: 'DHCP', tftp: 'TFTP', http: 'HTTP' };
const OUTCOME_LABEL: Record<string, string> = { ok: 'ok', refused: 'refused', no_answer: 'no answer', error: 'error' };

function traceDetail(e: TraceEntry): Html {
  const pairs = Object.entries(e.detail).filter(([, v]) => v !== null && v !== '');
  return html`<dl class="trace-kv">${pairs.map(([k, v]) => html`<dt>${k}</dt><dd>${String(v)}</dd>`)}</dl>`;
}

export function traceSection(name: string, data?: { entries: TraceEntry[]; version: string }): Html {
  if (!data) return selfLoading('boot-trace', name, 'trace', undefined, { label: 'Boot trace' });
  const rows = data.entries.map((e) => html`<li class="trace-row t-${e.kind} o-${e.outcome}" data-kind="${e.kind}" data-outcome="${e.outcome}">
<span class="trace-kind">${KIND_LABEL[e.kind] ?? e.kind}</span><span class="trace-outcome">${OUTCOME_LABEL[e.outcome] ?? e.outcome}</span>${time(e.at)}
<details><summary class="trace-summary">${e.summary}</summary>${traceDetail(e)}</details>
${e.text !== undefined ? html`<details class="trace-script"><summary>Script handed out (secrets redacted)</summary><pre>${e.text}</pre></details>` : ''}</li>`);
  const body = html`<h2>Boot trace</h2>
<p class="muted">The machine's latest DHCP exchanges, TFTP and HTTP fetches, newest last: what it asked, what it was answered and why.</p>
${data.entries.length ? html`<ol class="trace" id="trace-list">${rows}</ol>` : html`<p class="muted" id="trace-empty">No boot steps recorded yet.</p>`}`;
  // Trace entries are not events: the section also looks every 5 s (204 when nothing changed).
  return selfLoading('boot-trace', name, 'trace', body, { everyS: 5, version: data.version, label: 'Boot trace' });
}

// ---- facts --------------------------------------------------------------------------------------

const MAX_ROWS = 64;
const MAX_COLUMNS = 8;
const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const records = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x)).slice(0, MAX_ROWS) : []);

function listTable(caption: string, rows: Record<string, unknown>[]): Html {
  if (!rows.length) return html``;
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].slice(0, MAX_COLUMNS);
  return html`<table class="facts"><caption>${caption}</caption><thead><tr>${cols.map((c) => html`<th>${c}</th>`)}</tr></thead>
<tbody>${rows.map((r) => html`<tr>${cols.map((c) => html`<td title="${cell(r[c])}">${c === 'size_bytes' && typeof r[c] === 'number' ? bytes(r[c] as number) : cell(r[c])}</td>`)}</tr>`)}</tbody></table>`;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** Facts as people read them (CPU, memory, disks, NICs, DMI), the raw JSON kept in a <details> (#facts). */
export function factsTables(facts: Record<string, unknown> | null): Html {
  if (!facts) return html`<p class="muted">No facts yet: inspect the machine to collect them.</p>`;
  const f = facts;
  const dmi = f.dmi && typeof f.dmi === 'object' && !Array.isArray(f.dmi) ? Object.entries(f.dmi as Record<string, unknown>).slice(0, 20) : [];
  const mem = typeof f.memory_mib === 'number' ? bytes(f.memory_mib * 1024 * 1024) : cell(f.memory_mib);
  return html`<dl class="kv" id="facts-summary"><dt>CPU</dt><dd>${cell(f.cpus)}${f.cpu_model ? html` × ${cell(f.cpu_model)}` : ''}${f.arch ? html` <span class="muted">(${cell(f.arch)})</span>` : ''}</dd>
<dt>Memory</dt><dd>${mem}</dd></dl>
${listTable('Disks', records(f.disks))}${listTable('NICs', records(f.nics))}
${dmi.length ? html`<table class="facts"><caption>DMI</caption><tbody>${dmi.map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${cell(v)}</td></tr>`)}</tbody></table>` : ''}
<details><summary>Raw facts (JSON)</summary><pre id="facts">${JSON.stringify(facts, null, 2)}</pre></details>`;
}

/** The machine page's own styles (served with the dashboard's, assets.ts). Kind and outcome are words too, never colour alone. */
export const MACHINE_CSS = `
.power-line { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; min-height: 2.4rem; }
.trace { list-style: none; padding: 0; margin: 0; border: 1px solid var(--line); background: var(--bg); max-height: 40rem; overflow: auto; }
.trace-row { display: grid; grid-template-columns: 3.5rem 6rem 12rem 1fr; gap: .2rem .6rem; padding: .3rem .5rem; border-bottom: 1px solid var(--line); align-items: start; }
.trace-row details { grid-column: 4; min-width: 0; } .trace-row .trace-script { grid-column: 2 / 5; }
.trace-summary { overflow-wrap: anywhere; cursor: pointer; }
.trace-kind { font-weight: 700; font-family: ui-monospace, monospace; border: 1px solid; border-radius: 3px; text-align: center; }
.t-dhcp .trace-kind { color: #004f7a; } .t-tftp .trace-kind { color: #5b3a00; } .t-http .trace-kind { color: #5e2750; }
.trace-outcome { font-weight: 600; } .o-ok .trace-outcome::before { content: "\\2713 "; }
.o-refused .trace-outcome, .o-error .trace-outcome { color: #7a2600; } .o-refused .trace-outcome::before, .o-error .trace-outcome::before { content: "\\2716 "; }
.o-no_answer .trace-outcome { color: #5a6470; } .o-no_answer .trace-outcome::before { content: "\\2205 "; }
dl.trace-kv { display: grid; grid-template-columns: max-content 1fr; gap: 0 .8rem; margin: .3rem 0; font-size: .9rem; } dl.trace-kv dd { margin: 0; overflow-wrap: anywhere; }
pre.oplog { max-height: 30rem; white-space: pre-wrap; overflow-wrap: anywhere; } .src-agent { color: #004f7a; }
table.facts { margin-bottom: .8rem; } table.facts caption { text-align: left; font-weight: 600; padding: .3rem 0; }
table.ops td:nth-child(8) { color: #7a2600; }
@media (max-width: 700px) { .trace-row { grid-template-columns: 3.5rem 1fr; } .trace-row details, .trace-row .trace-script { grid-column: 1 / 3; } }
`;
