import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { type TestDaemon } from '../lib/daemon.js';
import { call, phoneHome, startReadyRack, type RackMachine } from '../lib/allocation.js';

const RACK: RackMachine[] = [1, 2, 3].map((i) => ({ name: `pool-0${i}`, cpus: 4, memoryGib: 16, diskGib: 200 }));

let d: TestDaemon;
let acme = '';
let beta = '';
before(async () => { d = await startReadyRack(RACK); });
after(async () => { await d.close(); });

const admin = (method: string, path: string, body?: unknown) => call(d.url, d.tokens.admin, method, path, body);

test('an admin creates owner-scoped tokens; the secret is shown once and stored only as a digest', async () => {
  const a = await admin('POST', '/api/v1/tokens', { owner: 'acme', name: 'acme-ci' });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  assert.deepEqual([a.body.token.name, a.body.token.owner, a.body.token.role, a.body.token.created_by], ['acme-ci', 'acme', 'owner', 'operator:admin']);
  assert.match(a.body.secret, /^rh_/);
  acme = a.body.secret;
  const b = await admin('POST', '/api/v1/tokens', { owner: 'beta' });
  assert.match(b.body.token.name, /^beta-[0-9a-f]{6}$/);
  beta = b.body.secret;
  assert.equal((await admin('POST', '/api/v1/tokens', { owner: 'acme', name: 'acme-ci' })).status, 409, 'names are unique');
  assert.equal((await admin('POST', '/api/v1/tokens', { owner: 'x', name: 'admin' })).status, 409, 'not even a file token\'s name');
  const list = await admin('GET', '/api/v1/tokens');
  assert.deepEqual(list.body.tokens.map((t: { name: string }) => t.name).sort(), ['acme-ci', b.body.token.name].sort());
  assert.ok(!JSON.stringify(list.body).includes(acme), 'no secret in the list');
  assert.equal((await call(d.url, d.tokens.readonly, 'POST', '/api/v1/tokens', { owner: 'x' })).status, 403);
  const db = new Database(join(d.stateDir, 'rackhand.db'), { readonly: true });
  const dump = JSON.stringify(db.prepare('SELECT * FROM api_tokens').all());
  db.close();
  assert.ok(!dump.includes(acme) && !dump.includes(beta), 'the database holds digests, not secrets');
});

test('tenants see and act on their own allocations and machines only; another\'s is 404; admin sees all', async () => {
  const acmeApi = (m: string, p: string, body?: unknown) => call(d.url, acme, m, p, body);
  const betaApi = (m: string, p: string, body?: unknown) => call(d.url, beta, m, p, body);

  const mine = await acmeApi('POST', '/api/v1/allocations', { profile: 'lab-image', constraints: { cpus: 4 } });
  assert.equal(mine.status, 201, JSON.stringify(mine.body));
  const a = mine.body.allocation;
  assert.equal(a.owner, 'acme', 'a tenant token allocates for its own owner');
  assert.equal(a.actor, 'tenant:acme/acme-ci');
  const machine = a.machines[0].name as string;
  assert.equal((await acmeApi('POST', '/api/v1/allocations', { owner: 'beta', profile: 'lab-image' })).status, 403);
  const theirs = await betaApi('POST', '/api/v1/allocations', { profile: 'lab-image' });
  assert.equal(theirs.status, 201);

  // beta cannot see, show, release or act on acme's machine or allocation: 404, as if absent.
  assert.equal((await betaApi('GET', `/api/v1/allocations/${a.id}`)).status, 404);
  assert.equal((await betaApi('DELETE', `/api/v1/allocations/${a.id}`)).status, 404);
  assert.equal((await betaApi('GET', `/api/v1/machines/${machine}`)).status, 404);
  assert.equal((await betaApi('POST', `/api/v1/machines/${machine}/actions/release`)).status, 404);
  assert.equal((await betaApi('GET', `/api/v1/machines/${machine}/power`)).status, 404);
  assert.equal((await betaApi('GET', '/api/v1/machines/no-such-machine')).status, 404, 'indistinguishable from a missing one');
  const betaList = (await betaApi('GET', '/api/v1/allocations')).body.allocations;
  assert.deepEqual(betaList.map((x: { id: string }) => x.id), [theirs.body.allocation.id]);
  assert.deepEqual((await betaApi('GET', `/api/v1/allocations?owner=acme`)).body.allocations, []);
  const betaMachines = (await betaApi('GET', '/api/v1/machines')).body.machines;
  assert.deepEqual(betaMachines.map((m: { name: string }) => m.name), [theirs.body.allocation.machines[0].name]);
  const betaEvents = (await betaApi('GET', '/api/v1/events?limit=1000')).body.events as { machine: string | null; actor: string }[];
  assert.ok(betaEvents.length > 0);
  assert.ok(betaEvents.every((e) => e.machine === theirs.body.allocation.machines[0].name), 'only its own machine\'s events');
  assert.deepEqual((await betaApi('GET', `/api/v1/events?machine=${machine}`)).body.events, []);
  assert.equal((await betaApi('GET', '/api/v1/tokens')).status, 403);

  // acme: its machine is visible; operator actions are not its to use.
  assert.equal((await acmeApi('GET', `/api/v1/machines/${machine}`)).body.machine.owner, 'acme');
  const inspect = await acmeApi('POST', `/api/v1/machines/${machine}/actions/reimage`);
  assert.equal(inspect.status, 403);
  assert.equal(inspect.body.error.code, 'FORBIDDEN');
  assert.equal((await acmeApi('POST', `/api/v1/machines/${machine}/power`, { action: 'off' })).status, 403);
  const acmeEvents = (await acmeApi('GET', `/api/v1/events?machine=${machine}`)).body.events as { event: string; actor: string }[];
  assert.deepEqual(acmeEvents.map((e) => e.event), ['allocate', 'deploy'], 'not the machine\'s life before acme had it');
  assert.ok(acmeEvents.every((e) => e.actor === 'tenant:acme/acme-ci'));

  // The admin sees both owners' allocations and machines.
  const all = (await admin('GET', '/api/v1/allocations')).body.allocations.map((x: { owner: string }) => x.owner).sort();
  assert.deepEqual(all, ['acme', 'beta']);
  assert.equal((await admin('GET', `/api/v1/machines/${machine}`)).status, 200);

  // acme releases its own allocation once deployed; the release event names acme's token.
  await phoneHome(d.daemon.store, machine);
  const rel = await acmeApi('DELETE', `/api/v1/allocations/${a.id}`);
  assert.equal(rel.status, 200, JSON.stringify(rel.body));
  assert.equal(rel.body.allocation.state, 'releasing');
  const release = (await admin('GET', `/api/v1/events?machine=${machine}`)).body.events.find((e: { event: string }) => e.event === 'release');
  assert.equal(release.actor, 'tenant:acme/acme-ci');
  assert.equal(release.data.allocation, a.id);
  assert.equal((await call(d.url, 'rh_forged_token_0000000000000', 'GET', '/api/v1/allocations')).status, 401);
});
