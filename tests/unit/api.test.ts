import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { startTestDaemon, type TestDaemon } from '../lib/daemon.js';

let d: TestDaemon;
before(async () => { d = await startTestDaemon(); });
after(async () => { await d.close(); });

async function call(method: string, path: string, opts: { token?: string | null; body?: string | object } = {}) {
  const token = opts.token === undefined ? d.tokens.admin : opts.token;
  const res = await fetch(d.url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

test('/healthz and /metrics answer without a token', async () => {
  const h = await call('GET', '/healthz', { token: null });
  assert.equal(h.status, 200);
  assert.equal(h.body.ok, true);
  const m = await call('GET', '/metrics', { token: null });
  assert.equal(m.status, 200);
  assert.match(m.body, /rackhand_machines\{state="enrolled"\} 3/);
});

test('no token → 401; unknown token → 401', async () => {
  const none = await call('GET', '/api/v1/machines', { token: null });
  assert.equal(none.status, 401);
  assert.equal(none.body.error.code, 'UNAUTHENTICATED');
  assert.equal((await call('GET', '/api/v1/machines', { token: 'rh_not_a_token_at_all' })).status, 401);
});

test('a read-only token reads but cannot mutate → 403', async () => {
  const list = await call('GET', '/api/v1/machines', { token: d.tokens.readonly });
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.machines.map((m: { name: string }) => m.name), ['node-01', 'node-02', 'node-03']);
  const act = await call('POST', '/api/v1/machines/node-01/actions/inspect', { token: d.tokens.readonly });
  assert.equal(act.status, 403);
  assert.equal(act.body.error.code, 'FORBIDDEN');
  assert.equal((await call('GET', '/api/v1/machines/node-01')).body.machine.state, 'enrolled', 'nothing changed');
});

test('malformed bodies → 400 naming the field', async () => {
  const badJson = await call('POST', '/api/v1/machines/node-01/actions/inspect', { body: '{"reason": ' });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.body.error.field, 'body');
  const badType = await call('POST', '/api/v1/machines/node-01/actions/inspect', { body: { reason: 42 } });
  assert.equal(badType.status, 400);
  assert.equal(badType.body.error.field, 'body.reason');
  assert.match(badType.body.error.message, /^body\.reason: .*string/);
  const unknown = await call('POST', '/api/v1/machines/node-01/actions/inspect', { body: { reasn: 'x' } });
  assert.equal(unknown.body.error.field, 'body.reasn');
  const badProfile = await call('POST', '/api/v1/machines/node-01/actions/deploy', { body: { profile: 'nope' } });
  assert.equal(badProfile.status, 400);
  assert.equal(badProfile.body.error.field, 'body.profile');
  const badQuery = await call('GET', '/api/v1/events?limit=0');
  assert.equal(badQuery.status, 400);
  assert.equal(badQuery.body.error.field, 'query.limit');
  const badState = await call('GET', '/api/v1/machines?state=flying');
  assert.equal(badState.body.error.field, 'query.state');
});

test('unknown machine → 404; unknown action → 404', async () => {
  const show = await call('GET', '/api/v1/machines/node-99');
  assert.equal(show.status, 404);
  assert.equal(show.body.error.code, 'NOT_FOUND');
  assert.equal((await call('POST', '/api/v1/machines/node-99/actions/inspect')).status, 404);
  const internal = await call('POST', '/api/v1/machines/node-01/actions/inspected');
  assert.equal(internal.status, 404, 'agent-only events are not operator actions');
});

test('illegal transition → 409 with the allowed events', async () => {
  const res = await call('POST', '/api/v1/machines/node-02/actions/release');
  assert.equal(res.status, 409);
  assert.equal(res.body.error.code, 'ILLEGAL_TRANSITION');
  assert.deepEqual(res.body.error.allowed, ['inspect', 'maintenance_on']);
  assert.equal(res.body.error.message, 'cannot release a machine that is enrolled; allowed: inspect, maintenance_on');
});

test('actions move machines through the table and are recorded as events', async () => {
  const inspect = await call('POST', '/api/v1/machines/node-03/actions/inspect', { body: { reason: 'new rack' } });
  assert.equal(inspect.status, 200);
  assert.equal(inspect.body.machine.state, 'inspecting');
  assert.ok(inspect.body.machine.deadline, 'a transitional state shows its deadline');
  const fail = await call('POST', '/api/v1/machines/node-03/actions/fail', { body: { reason: 'disk on fire' } });
  assert.equal(fail.body.machine.state, 'failed');
  assert.equal(fail.body.machine.last_error, 'disk on fire');
  assert.equal(fail.body.machine.previous_state, 'inspecting');
  const retry = await call('POST', '/api/v1/machines/node-03/actions/retry');
  assert.equal(retry.body.machine.state, 'inspecting');
  const events = await call('GET', '/api/v1/events?machine=node-03');
  assert.deepEqual(events.body.events.map((e: { event: string }) => e.event), ['enrol', 'inspect', 'fail', 'retry']);
  assert.equal(events.body.events[1].actor, 'operator:admin');
  assert.equal(events.body.events[1].cause, 'new rack');
  const after = await call('GET', `/api/v1/events?after=${events.body.events[2].id}`);
  assert.deepEqual(after.body.events.map((e: { event: string }) => e.event), ['retry']);
});

test('SIGHUP-style reload applies a changed inventory and keeps the old one when the new is invalid', async () => {
  const original = readFileSync(d.inventoryFile, 'utf8');
  writeFileSync(d.inventoryFile, original.replace('ip: 10.20.0.13', 'ip: 10.20.0.33'));
  await d.daemon.reload();
  assert.equal((await call('GET', '/api/v1/machines/node-03')).body.machine.ip, '10.20.0.33');
  const updated = (await call('GET', '/api/v1/events?machine=node-03')).body.events.at(-1);
  assert.equal(updated.event, 'updated');
  assert.deepEqual(updated.data.fields.ip, { from: '10.20.0.13', to: '10.20.0.33' });
  writeFileSync(d.inventoryFile, original.replace('mode: full', 'mode: bogus'));
  await d.daemon.reload();
  assert.equal(d.daemon.inventory().inventory.site.dhcp.mode, 'full', 'an invalid file is refused');
  writeFileSync(d.inventoryFile, original);
});

test('power through the API: status from the driver, a BMC refusal as 502 with its code, actions as events', async () => {
  const status = await call('GET', '/api/v1/machines/node-03/power');
  assert.equal(status.status, 200);
  const { read_at: readAt, ...rest } = status.body;
  assert.deepEqual(rest, { machine: 'node-03', driver: 'wol', state: 'unknown', cached: false });
  assert.ok(Math.abs(Date.parse(readAt) - Date.now()) < 60_000, `read_at is a time: ${readAt}`);
  const viewer = await call('GET', '/api/v1/machines/node-03/power', { token: d.tokens.readonly });
  assert.equal(viewer.status, 200);
  assert.equal(viewer.body.cached, true, 'a read-only token reads the cache the admin\'s read filled');
  const forced = await call('GET', '/api/v1/machines/node-03/power?fresh=true', { token: d.tokens.readonly });
  assert.equal(forced.status, 403);
  assert.equal(forced.body.error.field, 'fresh');
  assert.equal((await call('GET', '/api/v1/machines/node-03/power?fresh=maybe')).body.error.field, 'query.fresh');
  const off = await call('POST', '/api/v1/machines/node-03/power', { body: { action: 'off' } });
  assert.equal(off.status, 502);
  assert.equal(off.body.error.code, 'POWER_FAILED');
  assert.equal(off.body.error.power_code, 'UNSUPPORTED');
  assert.match(off.body.error.message, /^node-03: power off: /);
  const bad = await call('POST', '/api/v1/machines/node-03/power', { body: { action: 'explode' } });
  assert.equal(bad.body.error.field, 'body.action');
  assert.equal((await call('POST', '/api/v1/machines/node-03/power', { token: d.tokens.readonly, body: { action: 'on' } })).status, 403);
  assert.equal((await call('GET', '/api/v1/machines/node-99/power')).status, 404);
});
