// The CLI verbs that talk to the daemon: each reads its options, calls the API, and prints a
// table or, with --json, the API's JSON unchanged.
import type { ApiClient } from './client.js';
import { CliError, patiently } from './client.js';
import { ago, fields, table } from './format.js';
import { eventPoller, type Event } from './event-poll.js';

type Machine = Record<string, unknown> & {
  name: string; state: string; mac: string; ip: string | null; profile: string | null; owner: string | null;
  last_error: string | null; state_changed_at: string; previous_state: string | null; allowed_events: string[];
  deadline: string | null; retired: boolean; tags: string[]; deploy_profile: string | null;
  accepted: boolean;
  power: { driver: string; address: string | null; port: number | null };
};

const out = (s: string): void => { process.stdout.write(s + "\n"); };
const enc = encodeURIComponent;

export async function machinesCmd(api: ApiClient, o: { json: boolean; state?: string; all: boolean }): Promise<void> {
  const q = new URLSearchParams();
  if (o.state) q.set('state', o.state);
  if (o.all) q.set('include_retired', 'true');
  const { machines } = await api.get<{ machines: Machine[] }>(`/api/v1/machines${q.size ? '?' + q : ''}`);
  if (o.json) return out(JSON.stringify({ machines }, null, 2));
  if (!machines.length) return out('no machines');
  out(table(['NAME', 'STATE', 'MAC', 'IP', 'PROFILE', 'OWNER', 'SINCE', 'NOTE'], machines.map((m) => [
    m.name, m.state, m.mac, m.ip, m.deploy_profile ?? m.profile, m.owner, ago(m.state_changed_at),
    m.retired ? 'retired' : m.accepted === false ? 'awaits accept' : m.last_error ?? '',
  ])));
}

export async function showCmd(api: ApiClient, name: string, o: { json: boolean }): Promise<void> {
  const { machine: m } = await api.get<{ machine: Machine }>(`/api/v1/machines/${enc(name)}`);
  if (o.json) return out(JSON.stringify({ machine: m }, null, 2));
  out(fields([
    ['name', m.name], ['state', m.state + (m.retired ? ' (retired from the inventory)' : '')],
    ['since', `${m.state_changed_at} (${ago(m.state_changed_at)})`],
    ['deadline', m.deadline ? `${m.deadline} (${ago(m.deadline)})` : null],
    ['previous state', m.previous_state], ['last error', m.last_error],
    ['mac', m.mac], ['ip', m.ip], ['hostname', m.hostname], ['profile', m.profile], ['deploy profile', m.deploy_profile],
    ['owner', m.owner], ['tags', m.tags.join(', ')],
    ['accepted', m.accepted === false ? `no: discovered, allocations skip it until \`rackhand accept ${m.name}\`` : 'yes'],
    ['power', [m.power.driver, m.power.address, m.power.port].filter((x) => x !== null).join(' ')],
    ['allowed actions', m.allowed_events.join(', ')],
    ['facts', m.facts ? JSON.stringify(m.facts) : null],
    ['boot facts', m.boot_facts ? JSON.stringify(m.boot_facts) : null],
  ]));
}

export async function actionCmd(api: ApiClient, name: string, event: string, body: Record<string, unknown>, o: { json: boolean; wait?: boolean }): Promise<boolean> {
  const res = await api.post<{ machine: Machine; event: Event }>(`/api/v1/machines/${enc(name)}/actions/${event}`, body);
  if (!o.wait) {
    out(o.json ? JSON.stringify(res, null, 2) : `${res.machine.name}: ${res.event.from} → ${res.event.to}`);
    return true;
  }
  if (!o.json) out(`${res.machine.name}: ${res.event.from} → ${res.event.to}`);
  return waitForMachine(api, name, o.json, res.event.id);
}

const TRANSITIONAL = new Set(['inspecting', 'deploying', 'releasing']);
const mib = (n: unknown) => (typeof n === 'number' ? `${(n / 1048576).toFixed(1)} MiB` : undefined);

/**
 * Follows a machine until it leaves its transitional state: live progress (state, step, bytes
 * written) on one rewritten line on a terminal, plain lines otherwise. True when it did not fail.
 * Between reads of the machine it long-polls the machine's events (after `afterEvent`), so a
 * state change shows at once; the wait is short because progress (step, bytes) is written
 * without an event, and is re-read at least that often.
 */
export async function waitForMachine(api: ApiClient, name: string, json: boolean, afterEvent?: number): Promise<boolean> {
  const tty = process.stdout.isTTY && !json;
  let last = '';
  const nextEvents = eventPoller(api, new URLSearchParams({ machine: name }), { waitS: 2, pollMs: 2000 });
  let cursor = afterEvent ?? (await patiently(() => api.get<{ events: Event[] }>(`/api/v1/events?machine=${enc(name)}&limit=1`))).events.at(-1)?.id ?? 0;
  for (;;) {
    const { machine: m } = await patiently(() => api.get<{ machine: Machine & { operation: { kind: string; step: string | null; progress: { bytes?: number; total?: number } | null } | null } }>(`/api/v1/machines/${enc(name)}`));
    const op = m.operation;
    const bytes = op?.progress?.bytes !== undefined ? ` ${mib(op.progress.bytes)}${op.progress.total ? ` of ${mib(op.progress.total)}` : ''}` : '';
    const line = `${m.name}: ${m.state}${TRANSITIONAL.has(m.state) && op ? ` — ${op.kind}${op.step ? `: ${op.step}` : ''}${bytes}` : ''}`;
    if (line !== last) {
      if (json) out(JSON.stringify({ machine: m.name, state: m.state, operation: op }));
      else if (tty) process.stdout.write(`\r\x1b[K${line}`);
      else out(line);
      last = line;
    }
    if (!TRANSITIONAL.has(m.state)) {
      if (tty) process.stdout.write('\n');
      if (m.state === 'failed' && !json) out(`${m.name}: failed: ${m.last_error ?? 'no reason recorded'}`);
      return m.state !== 'failed';
    }
    cursor = (await nextEvents(cursor)).at(-1)?.id ?? cursor;
  }
}

export async function acceptCmd(api: ApiClient, name: string, o: { json: boolean }): Promise<void> {
  const res = await api.post<{ machine: Machine; changed: boolean }>(`/api/v1/machines/${enc(name)}/accept`, {});
  if (o.json) return out(JSON.stringify(res, null, 2));
  out(res.changed ? `${res.machine.name}: accepted; allocations may pick it` : `${res.machine.name}: already accepted`);
}

type Forgotten = { name: string; mac: string; state: string | null; freed_lease: string | null; cancelled_operation: string | null };
const forgottenLine = (f: Forgotten) => `${f.name} (${f.mac}, was ${f.state ?? '?'}): forgotten` +
  (f.freed_lease ? `, lease ${f.freed_lease} freed` : '') + (f.cancelled_operation ? `, operation ${f.cancelled_operation} cancelled` : '');

/** `rackhand forget MACHINE` or `rackhand forget --pending` (every discovered machine awaiting acceptance). */
export async function forgetCmd(api: ApiClient, target: { name: string } | { pending: true }, o: { json: boolean; reason?: string }): Promise<void> {
  const reason = o.reason === undefined ? {} : { reason: o.reason };
  if ('name' in target) {
    const res = await api.post<{ forgotten: Forgotten }>(`/api/v1/machines/${enc(target.name)}/forget`, reason);
    return out(o.json ? JSON.stringify(res, null, 2) : forgottenLine(res.forgotten));
  }
  const res = await api.post<{ forgotten: Forgotten[]; count: number }>('/api/v1/machines/forget', { pending: true, ...reason });
  if (o.json) return out(JSON.stringify(res, null, 2));
  for (const f of res.forgotten) out(forgottenLine(f));
  out(`${res.count} discovered machine${res.count === 1 ? '' : 's'} awaiting acceptance forgotten`);
}

export async function powerCmd(api: ApiClient, name: string, action: string, o: { json: boolean; bootDevice?: string }): Promise<void> {
  const res = action === 'status'
    ? await api.get<{ machine: string; driver: string; state: string }>(`/api/v1/machines/${enc(name)}/power`)
    : await api.post<{ machine: string; driver: string; state: string }>(`/api/v1/machines/${enc(name)}/power`, { action, boot_device: o.bootDevice });
  if (o.json) return out(JSON.stringify(res, null, 2));
  out(`${res.machine}: power ${res.state} (${res.driver})`);
}

function eventLine(e: Event): string {
  const move = e.from || e.to ? `${e.from ?? '∅'} → ${e.to ?? '∅'}` : '';
  return [e.time, e.machine ?? '-', e.kind, e.event ?? '', move, e.cause ? `(${e.cause})` : '', `by ${e.actor}`]
    .filter(Boolean).join('  ');
}

export async function eventsCmd(api: ApiClient, o: { json: boolean; machine?: string; since?: string; limit?: number; follow: boolean }): Promise<void> {
  const q = new URLSearchParams();
  if (o.machine) q.set('machine', o.machine);
  if (o.since) q.set('since', o.since);
  q.set('limit', String(o.limit ?? 50));
  let { events } = await api.get<{ events: Event[] }>(`/api/v1/events?${q}`);
  const print = (es: Event[]) => { for (const e of es) out(o.json ? JSON.stringify(e) : eventLine(e)); };
  if (o.json && !o.follow) return out(JSON.stringify({ events }, null, 2));
  print(events);
  if (!o.follow) return;
  let last = events.at(-1)?.id ?? 0;
  if (!events.length) {
    // Nothing matched yet: start from the newest event overall, not from the beginning.
    const newest = await api.get<{ events: Event[] }>('/api/v1/events?limit=1');
    last = newest.events.at(-1)?.id ?? 0;
  }
  // Long-polls: the daemon answers as soon as an event after `last` commits, on any daemon of its database.
  q.delete('since');
  q.delete('limit');
  const next = eventPoller(api, q, { waitS: 25, pollMs: 1000 });
  for (;;) {
    events = await next(last);
    print(events);
    last = events.at(-1)?.id ?? last;
  }
}

export function needName(positionals: string[], verb: string): string {
  const name = positionals[0];
  if (!name) throw new CliError(`usage: rackhand ${verb} MACHINE`, 2);
  return name;
}

interface RackView {
  name: string; daemon: string | null; alive: boolean; silent_for: number | null; stopped_at: string | null;
  address: string | null; subnets: string[]; standby: string | null; machines: number; open_work: number; standing_in_for: string[];
}

/** `rackhand racks`: each rack, its daemon and heartbeat, segments, machines, and who stands in for whom. */
export async function racksCmd(api: ApiClient, o: { json: boolean }): Promise<void> {
  const res = await api.get<{ racks: RackView[]; silent_after: number }>('/api/v1/racks');
  if (o.json) return out(JSON.stringify(res, null, 2));
  if (!res.racks.length) return out('no racks (this daemon serves the site alone)');
  out(table(['RACK', 'STATUS', 'HEARD', 'DAEMON', 'ADDRESS', 'SUBNETS', 'MACHINES', 'WORK', 'STANDBY', 'STANDING IN FOR'], res.racks.map((r) => [
    r.name,
    r.daemon === null ? 'never seen' : r.alive ? 'alive' : r.stopped_at ? 'stopped' : 'SILENT',
    r.silent_for === null ? null : `${r.silent_for.toFixed(1)}s ago`,
    r.daemon, r.address, r.subnets.join(','), r.machines, r.open_work, r.standby, r.standing_in_for.join(','),
  ])));
  out(`a rack is silent after ${res.silent_after} s without a heartbeat; its standby then takes over its work`);
}
