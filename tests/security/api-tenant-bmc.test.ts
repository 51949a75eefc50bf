// Tenants never see BMC details: a machine's power section reaches a tenant as its driver alone,
// and the BMC's address, port, user name and password source are cut from every text a tenant is
// shown of its machine (last error, events, allocation views). An admin still sees them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { inventoryCopy, startTestDaemon, type TestDaemon } from '../lib/daemon.js';
import { call, makeReady } from '../lib/allocation.js';
import { act } from '../../daemon/core/actions.js';

const BMC = { address: '10.99.0.7', port: 6230, username: 'bmc-operator', env: 'RACK7_BMC_SECRET' };
const SECRETS = [BMC.address, String(BMC.port), BMC.username, BMC.env];
let d: TestDaemon;
let tenant = '';

before(async () => {
  const inventory = inventoryCopy();
  appendFileSync(inventory, `  - name: bmc-01
    mac: 52:54:00:00:07:01
    ip: 10.20.0.71
    profile: lab-image
    power: { driver: ipmi, address: ${BMC.address}, port: ${BMC.port}, username: ${BMC.username}, password_env: ${BMC.env} }
`);
  d = await startTestDaemon({ inventoryFile: inventory });
  await makeReady(d.daemon.store, [{ name: 'bmc-01', cpus: 64, memoryGib: 512, diskGib: 4000 }]);
  tenant = (await call(d.url, d.tokens.admin, 'POST', '/api/v1/tokens', { owner: 'acme' })).body.secret;
});
after(async () => { await d.close(); });

const leaks = (body: unknown) => SECRETS.filter((s) => JSON.stringify(body).includes(s));

test('a tenant\'s machine shows its power driver and nothing of its BMC, in every view', async () => {
  const alloc = await call(d.url, tenant, 'POST', '/api/v1/allocations', { profile: 'lab-image', constraints: { cpus: 64 } });
  assert.equal(alloc.status, 201, JSON.stringify(alloc.body));
  assert.equal(alloc.body.allocation.machines[0].name, 'bmc-01');
  // The BMC failed mid-deploy: its error names the BMC, as a driver's error does.
  await act(d.daemon.store, {
    machine: 'bmc-01', event: 'fail', actor: 'system',
    reason: `power cycle failed: ipmi ${BMC.address}:${BMC.port} as ${BMC.username} (${BMC.env}): unreachable`,
  });
  await d.daemon.store.appendEvent({ machine: 'bmc-01', kind: 'power', event: 'cycle_failed', actor: 'system',
    cause: `ipmi ${BMC.address}:${BMC.port} user ${BMC.username}: timeout`, data: { bmc: `${BMC.address}:${BMC.port}` } });

  const shown = await call(d.url, tenant, 'GET', '/api/v1/machines/bmc-01');
  assert.equal(shown.status, 200);
  assert.deepEqual(shown.body.machine.power, { driver: 'ipmi' });
  assert.match(shown.body.machine.last_error, /^power cycle failed: ipmi \[bmc\] as \[bmc\] \(\[bmc\]\): unreachable$/);
  assert.deepEqual(leaks(shown.body), [], 'machine view');
  const listed = await call(d.url, tenant, 'GET', '/api/v1/machines');
  assert.equal(listed.body.machines.length, 1);
  assert.deepEqual(leaks(listed.body), [], 'machine list');
  const events = await call(d.url, tenant, 'GET', '/api/v1/events?machine=bmc-01');
  assert.ok(events.body.events.some((e: { event: string }) => e.event === 'cycle_failed'), 'the power event is visible');
  assert.deepEqual(leaks(events.body), [], 'events');
  const allocation = await call(d.url, tenant, 'GET', `/api/v1/allocations/${alloc.body.allocation.id}`);
  assert.deepEqual(leaks(allocation.body), [], 'allocation');
  const released = await call(d.url, tenant, 'POST', '/api/v1/machines/bmc-01/actions/release');
  assert.equal(released.status, 200, JSON.stringify(released.body));
  assert.deepEqual(leaks(released.body), [], 'action answer');

  // The admin still sees where the BMC is.
  const admin = await call(d.url, d.tokens.admin, 'GET', '/api/v1/machines/bmc-01');
  assert.deepEqual(admin.body.machine.power, { driver: 'ipmi', address: BMC.address, port: BMC.port });
});
