// The pure parts of the dashboard's overview, allocations and tokens pages: the allocate form to
// the API's body, the allocations filter, failures and work in flight, the health read from
// counters, the BMC queue's lanes, who may do what, and what `lab up` prints for the dashboard.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateBody, allocateFields, allocationFilterQuery, parseAllocationFilter } from '../../daemon/http/ui/allocation-form.js';
import { failuresIn, progressText, workOf } from '../../daemon/http/ui/overview-data.js';
import { healthOf, type Readings } from '../../daemon/http/ui/health.js';
import { allocationRefusal, refusalText } from '../../daemon/http/ui/allocations-page.js';
import { tokensRefusal } from '../../daemon/http/ui/tokens-page.js';
import { overviewHealth, progressCell } from '../../daemon/http/ui/overview.js';
import { KeyedQueue } from '../../daemon/power/queue.js';
import { dashboardHint } from '../../daemon/lab/dashboard-hint.js';
import { ApiError } from '../../daemon/http/errors.js';
import type { EventRecord, MachineRecord, OperationRecord } from '../../daemon/core/store/types.js';

test('allocate form: numbers become numbers, tags a list, empty fields are left out, anything else goes to the API as typed', () => {
  const f = allocateFields({ owner: ' acme ', profile: 'lab-image', cpus: '8', memory_gib: '15.5', disk_gib: '', arch: '', tags: 'a, b,,c ', count: '2', extra: 'x' });
  assert.deepEqual(allocateBody(f), { owner: 'acme', profile: 'lab-image', constraints: { cpus: 8, memory_gib: 15.5, tags: ['a', 'b', 'c'] }, count: 2 });
  // No owner typed (a tenant's form has none): no owner sent; a bad number is sent as text, for the API to refuse by name.
  assert.deepEqual(allocateBody(allocateFields({ profile: 'p', cpus: '-1', count: 'lots' })), { profile: 'p', constraints: { cpus: '-1' }, count: 'lots' });
  assert.deepEqual(allocateFields({ owner: ['a', 'b'] }).owner, '', 'a repeated field is not a string: dropped');
});

test('allocations filter: owner and state from the URL; a bad state is no filter; written back the same', () => {
  assert.deepEqual(parseAllocationFilter({ owner: 'acme', state: 'released' }), { owner: 'acme', state: 'released' });
  assert.deepEqual(parseAllocationFilter({ state: 'bogus', owner: '' }), { owner: undefined, state: undefined });
  assert.equal(allocationFilterQuery({ owner: 'a b', state: 'active' }), '?owner=a+b&state=active');
  assert.equal(allocationFilterQuery({}), '');
});

const ev = (id: number, time: string, to: string | null, machine: string | null = 'm1', kind = 'transition'): EventRecord =>
  ({ id, time, machine, kind, event: 'error', from: 'deploying', to, cause: `cause ${id}`, actor: 'agent', data: null }) as EventRecord;

test('failuresIn: transitions into failed since the window began, newest first', () => {
  const events = [ev(1, '2026-01-01T00:00:00Z', 'failed'), ev(2, '2026-01-02T10:00:00Z', 'failed'), ev(3, '2026-01-02T11:00:00Z', 'ready'),
    ev(4, '2026-01-02T12:00:00Z', 'failed', null), ev(5, '2026-01-02T13:00:00Z', 'failed', 'm2'), ev(6, '2026-01-02T14:00:00Z', 'failed', 'm3', 'note')];
  assert.deepEqual(failuresIn(events, '2026-01-02T00:00:00Z').map((f) => [f.id, f.machine, f.from, f.cause]), [[5, 'm2', 'deploying', 'cause 5'], [2, 'm1', 'deploying', 'cause 2']]);
});

test('work in flight: bytes of the total as text; junk progress is no progress', () => {
  const m = { name: 'n1', state: 'deploying' } as MachineRecord;
  const op = { kind: 'deploy', step: 'image', progress: { bytes: 3 * 1024 ** 3, total: 4 * 1024 ** 3 }, createdAt: 't' } as unknown as OperationRecord;
  const w = workOf(m, op);
  assert.equal(progressText(w), '3.0 GiB of 4.0 GiB (75 %)');
  assert.match(progressCell(w).text, /<progress max="4294967296" value="3221225472" aria-labelledby="progress-n1">/);
  assert.equal(progressText({ bytes: 5 * 1024 ** 2 }), '5.0 MiB written');
  assert.equal(progressText(workOf(m, { ...op, progress: { bytes: -1, total: 'x' } })), '');
  assert.equal(progressText({ bytes: 10, total: 5 }), '0.0 MiB of 0.0 MiB (100 %)', 'never over 100 %');
});

test('healthOf: a server without counters is off; counters summed; the store down; BMC queues', () => {
  const r: Readings = new Map([
    ['rackhand_dhcp_messages_total', [{ value: 10, labels: { type: 'DISCOVER' } }, { value: 5, labels: { type: 'REQUEST' } }]],
    ['rackhand_dhcp_replies_total', [{ value: 12, labels: { type: 'OFFER' } }]],
    ['rackhand_dhcp_drops_total', [{ value: 2, labels: { reason: 'unknown_mac' } }, { value: 1, labels: { reason: 'malformed' } }]],
    ['rackhand_http_requests_total', [{ value: 7, labels: { status: 200 } }, { value: 2, labels: { status: 503 } }]],
    ['rackhand_store_available', [{ value: 0, labels: {} }]],
    ['rackhand_power_operations_total', [{ value: 4, labels: { outcome: 'ok' } }, { value: 1, labels: { outcome: 'failed' } }, { value: 3, labels: { outcome: 'retry' } }]],
  ]);
  const h = Object.fromEntries(healthOf(r, [{ key: '10.0.0.5:623', running: true, waiting: 3 }, { key: '10.0.0.6:623', running: true, waiting: 0 }]).map((s) => [s.name, s]));
  assert.equal(h.DHCP!.status, 'up');
  assert.deepEqual(h.DHCP!.detail, ['received 15, answered 12, dropped 3', 'drops: unknown_mac 2, malformed 1']);
  assert.equal(h.TFTP!.status, 'off');
  assert.match(h.HTTP!.detail[0]!, /requests 9, server errors \(5xx\) 2/);
  assert.equal(h.Store!.status, 'down');
  assert.deepEqual(h.Power!.detail, ['BMCs busy 2: calls in flight 2, waiting 3 (deepest 10.0.0.5:623: 3)', 'calls 5, failed 1']);
  assert.equal(healthOf(new Map(), []).find((s) => s.name === 'Store')!.status, 'up', 'no gauge (SQLite): up');
});

test('KeyedQueue.lanesNow: the call in flight and those waiting behind it, per BMC', async () => {
  const q = new KeyedQueue();
  let release!: () => void;
  const first = q.run('bmc-a', () => new Promise<void>((r) => { release = r; }));
  const second = q.run('bmc-a', async () => {});
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(q.lanesNow(), [{ key: 'bmc-a', running: true, waiting: 1 }]);
  release();
  await Promise.all([first, second]);
  assert.deepEqual(q.lanesNow(), []);
});

test('who may: read-only tokens neither allocate nor release; only admins see tokens', () => {
  assert.match(allocationRefusal({ name: 'viewer', role: 'readonly' })!, /read-only/);
  assert.equal(allocationRefusal({ name: 't', role: 'owner', owner: 'acme' }), undefined);
  assert.equal(tokensRefusal('admin'), undefined);
  assert.ok(tokensRefusal('readonly') && tokensRefusal('owner'), 'others are refused');
});

test('a no-fit refusal says which constraint was missing and how close the fleet came, as text', () => {
  const e = new ApiError('NO_FIT', 'no ready machine fits', { unmet: { constraint: 'cpus', wanted: '>= 64', best: '<b>8</b>' }, ready: 3, fitting: 0 });
  const out = refusalText(e).text;
  assert.match(out, /Missing: cpus — wanted &gt;= 64, the closest ready machine has &lt;b&gt;8&lt;\/b&gt;/);
  assert.match(out, /Ready machines: 3; fitting every constraint: 0/);
});

test('lab up prints the dashboard URL and the admin token, saying which; read-only when only that exists', () => {
  const admin = { name: 'admin', role: 'admin' as const, token: 'rh_admin_secret_0000' };
  const viewer = { name: 'viewer', role: 'readonly' as const, token: 'rh_viewer_secret_000' };
  assert.deepEqual(dashboardHint('http://169.254.210.2:8080', '/s/tokens.json', [viewer, admin]), [
    '  dashboard: http://169.254.210.2:8080/ui/',
    '  sign in with the admin token (can act: inspect, deploy, release, tokens) "admin" from /s/tokens.json:',
    '    rh_admin_secret_0000',
  ]);
  assert.match(dashboardHint('http://x', '/s/tokens.json', [viewer]).join('\n'), /read-only token \(can look, not act\) "viewer"[^]*rh_viewer_secret_000/);
  assert.deepEqual(dashboardHint('http://x', '/s/tokens.json', undefined), ['  dashboard: http://x/ui/', '  sign in with a token from /s/tokens.json']);
});

test('health section: each service with its state and lines; racks (when any) with who is silent, as text', () => {
  const rack = { name: 'r2<b>', alive: false, daemon: 'host-b', heartbeat_at: '2026-01-01T00:00:00.000Z', machines: 3, open_work: 1, standing_in_for: [] } as unknown as NonNullable<Parameters<typeof overviewHealth>[1]>[number];
  const out = overviewHealth([{ name: 'DHCP', status: 'off', detail: ['not served by this daemon'] }], [rack]).text;
  assert.match(out, /<li data-service="DHCP"><strong class="off">DHCP<\/strong>/);
  assert.match(out, /<tr data-rack="r2&lt;b&gt;"><td>r2&lt;b&gt;<\/td><td><span class="down">silent<\/span> host-b/);
  assert.doesNotMatch(overviewHealth([], []).text, /<table/, 'no racks: no racks table');
  assert.match(overviewHealth([], undefined).text, /Racks: unknown while the store is unavailable/);
});
