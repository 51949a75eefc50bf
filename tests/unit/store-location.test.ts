// Where the store lives (daemon/core/store/location.ts): a postgresql:// URL judged offline, its
// password masked wherever it is shown, and kept out of what templates (machines) can read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { redactStoreUrl, storeUrlHasPassword, storeUrlProblem } from '../../daemon/core/store/location.js';
import { loadInventory } from '../../daemon/core/inventory/load.js';
import { SAMPLE_FACTS, buildContext, renderString, templateEnv } from '../../daemon/core/templates.js';
import { REPO } from '../lib/daemon.js';

test('libpq URLs are accepted: TCP, a socket folder, no database, parameters', () => {
  for (const url of [
    'postgresql://rackhand:s3cret@127.0.0.1:5432/rackhand', 'postgres://db.example/rackhand?sslmode=verify-full',
    'postgresql:///rackhand?host=/var/run/postgresql', 'postgresql://%2Fvar%2Frun%2Fpostgresql/rackhand', 'postgresql://localhost',
  ]) assert.equal(storeUrlProblem(url), undefined, url);
});

test('anything else is refused with a reason that does not repeat the URL', () => {
  const cases: [string, RegExp][] = [
    ['mysql://root:hunter2@db/rackhand', /^mysql:\/\/ is not a store Rackhand knows: use postgresql:\/\/USER@HOST\[:PORT\]\/DATABASE/],
    ['db.example:5432/hunter2', /not a store Rackhand knows|not a URL/],
    ['hunter2', /^not a URL/],
    ['postgresql://u:hunter2@h:99999/x', /^not a URL/],
    ['postgresql://h/a/b', /^the path is the database name, one segment/],
    ['postgresql://h/%zz', /not valid percent-encoding/],
    ['postgresql://h/x#hunter2', /no #fragment/],
  ];
  for (const [url, reason] of cases) {
    const problem = storeUrlProblem(url);
    assert.match(problem ?? '', reason, url);
    assert.ok(!problem!.includes('hunter2'), url);
  }
});

test('the password is masked wherever the URL is shown, in the user part and as a parameter', () => {
  assert.equal(redactStoreUrl('postgresql://rackhand:s3cret@db:5432/rackhand'), 'postgresql://rackhand:***@db:5432/rackhand');
  assert.equal(redactStoreUrl('postgres://db/x?sslmode=require&password=s3cret'), 'postgres://db/x?sslmode=require&password=***');
  assert.equal(redactStoreUrl('postgresql://rackhand@db/rackhand'), 'postgresql://rackhand@db/rackhand');
  assert.equal(redactStoreUrl('not a url with s3cret'), '(not a URL)');
  assert.equal(storeUrlHasPassword('postgresql://rackhand:s3cret@db/rackhand'), true);
  assert.equal(storeUrlHasPassword('postgresql://db/rackhand?password=s3cret'), true);
  assert.equal(storeUrlHasPassword('postgresql://rackhand@db/rackhand'), false);
});

test('templates see the site section without its store URL', () => {
  const loaded = loadInventory(join(REPO, 'inventory.yaml'));
  assert.ok(loaded.ok);
  const { inventory, templatesDir } = loaded.value;
  const site = { ...inventory.site, store: 'postgresql://rackhand:s3cret@db/rackhand' };
  const [profileName, profile] = Object.entries(inventory.profiles)[0]!;
  const machine = { name: 'node-01', mac: '52:54:00:00:01:01', ip: null, hostname: 'node-01', tags: [], owner: null, facts: SAMPLE_FACTS };
  const ctx = buildContext({ machine, profileName, profile, site, token: 'T'.repeat(20), instanceId: 'op-1' });
  assert.equal('store' in ctx.site, false);
  assert.equal(ctx.site.address, inventory.site.address);
  assert.throws(() => renderString(templateEnv(templatesDir), '{{ site.store }}', ctx), /undefined|store/);
});
