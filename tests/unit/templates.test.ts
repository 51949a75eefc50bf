import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadInventory } from '../../daemon/core/inventory/load.js';
import { SAMPLE_FACTS, buildContext, render, renderString, templateEnv } from '../../daemon/core/templates.js';
import { kernelLine } from '../../daemon/core/boot-text.js';
import { validateInventory } from '../../daemon/core/inventory/validate.js';
import { REPO } from '../lib/daemon.js';

const loaded = loadInventory(join(REPO, 'inventory.yaml'));
if (!loaded.ok) throw new Error('the example inventory must load');
const { inventory, templatesDir } = loaded.value;
const env = templateEnv(templatesDir);
const machine = { name: 'node-03', mac: '52:54:00:00:01:03', ip: '10.20.0.13', hostname: 'node-03', tags: [], owner: null, facts: SAMPLE_FACTS };
const answer = (profileName: string) => {
  const profile = inventory.profiles[profileName]!;
  assert.equal(profile.kind, 'installer');
  const ctx = buildContext({ machine, profileName, profile, site: inventory.site, token: 'TOKEN-0123456789abcdef', instanceId: 'op-1' });
  return {
    text: render(env, (profile as { answer: string }).answer, ctx), phone: ctx.phone_home_url, started: ctx.installer_started_url,
    cmdline: renderString(env, (profile as { cmdline: string }).cmdline, ctx), answerUrl: ctx.answer_url,
  };
};

test('every installer answer ends by phoning home with the operation\'s token', () => {
  const preseed = answer('debian-preseed');
  assert.match(preseed.text, new RegExp(`^d-i preseed/late_command string wget -q -T 10 -t 3 -O /dev/null --post-data= '${preseed.phone}'$`, 'm'));
  assert.match(preseed.text, /^d-i netcfg\/get_hostname string node-03$/m);
  const ks = answer('rocky-kickstart');
  assert.match(ks.text, new RegExp(`%post --erroronfail\\ncurl -fsS -X POST '${ks.phone}'\\n%end\\n$`));
  assert.match(ks.text, /--hostname='node-03' /);
  const auto = answer('ubuntu-autoinstall');
  const doc = parseYaml(auto.text);
  assert.equal(doc.autoinstall.version, 1);
  assert.equal(doc.autoinstall.identity.hostname, 'node-03');
  assert.deepEqual(doc.autoinstall['late-commands'], [`curtin in-target -- curl -fsS -X POST '${auto.phone}'`]);
  assert.ok(auto.phone.endsWith('/v1/phone-home/TOKEN-0123456789abcdef'));
});

test('every installer answer first reports that the installer started, with the operation\'s token', () => {
  assert.equal(validateInventory(join(REPO, 'inventory.yaml')).ok, true, 'rackhand validate inventory.yaml passes');
  const preseed = answer('debian-preseed');
  assert.equal(preseed.started, 'http://10.20.0.1:8080/v1/installer/TOKEN-0123456789abcdef/started');
  // d-i runs preseed/early_command once it has read the file; a failed report must not stop it.
  assert.match(preseed.text, new RegExp(`^d-i preseed/early_command string wget -q -T 5 -t 2 -O /dev/null --post-data= '${preseed.started}' \\|\\| true$`, 'm'));
  assert.match(preseed.text, /^d-i netcfg\/get_domain string localdomain$/m);
  const ks = answer('rocky-kickstart');
  assert.match(ks.text, new RegExp(`\n%pre\ncurl -fsS -m 10 -X POST '${ks.started}' \\|\\| true\n%end\n`));
  assert.ok(ks.text.indexOf('%pre') < ks.text.indexOf('%post'), 'the start report comes before the phone-home');
  const auto = answer('ubuntu-autoinstall');
  assert.deepEqual(parseYaml(auto.text).autoinstall['early-commands'], [`curl -fsS -m 10 -X POST '${auto.started}' || true`]);
  for (const a of [preseed, ks, auto]) assert.ok(a.started.endsWith('/v1/installer/TOKEN-0123456789abcdef/started'));
});

test('the debian-preseed command line: auto mode, the answer URL, and the hostname and domain d-i needs before it reads the preseed', () => {
  const { cmdline, answerUrl } = answer('debian-preseed');
  assert.equal(kernelLine(cmdline), `auto=true priority=critical url=${answerUrl} hostname=node-03 domain=localdomain`);
  assert.equal(answerUrl, 'http://10.20.0.1:8080/v1/answer/TOKEN-0123456789abcdef');
});

test('the cloud-init user-data is valid YAML that phones home', () => {
  const profile = inventory.profiles['lab-image']!;
  const ctx = buildContext({ machine, profileName: 'lab-image', profile, site: inventory.site, token: 'T'.repeat(20), instanceId: 'op-2' });
  const text = render(env, 'cloud-init/user-data.j2', ctx);
  assert.match(text, /^#cloud-config\n/);
  const doc = parseYaml(text);
  assert.equal(doc.hostname, 'node-03');
  assert.equal(doc.phone_home.url, ctx.phone_home_url);
});

test('the Debian cloud image\'s user-data: a login user with the profile\'s keys, cloud-init\'s phone_home', () => {
  const profile = inventory.profiles['debian-12-cloud']!;
  assert.equal(profile.kind, 'image');
  const ctx = buildContext({ machine, profileName: 'debian-12-cloud', profile, site: inventory.site, token: 'T'.repeat(20), instanceId: 'op-3' });
  const doc = parseYaml(render(env, 'cloud-init/debian-12-cloud.user-data.j2', ctx));
  assert.equal(doc.hostname, 'node-03');
  assert.equal(doc.users[0].name, 'rackhand');
  assert.deepEqual(doc.users[0].ssh_authorized_keys, (profile as { ssh_authorized_keys: string[] }).ssh_authorized_keys);
  assert.deepEqual(doc.phone_home, { url: ctx.phone_home_url, post: 'all', tries: 30 });
});
