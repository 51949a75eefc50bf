import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatError, formatWarning, loadInventory, machineSpecs } from '../../daemon/core/inventory/load.js';
import { validateInventory } from '../../daemon/core/inventory/validate.js';
import { tempDir } from '../lib/tmp.js';

// A valid inventory; each case below changes one line and expects one error at that line.
const BASE = `site:
  interface: prov0
  address: 10.20.0.1
  dhcp:
    mode: full
    subnet: 10.20.0.0/24
    pool: 10.20.0.100-10.20.0.199
profiles:
  img:
    kind: image
    image: { url: images/x.raw.gz, sha256: "${'a'.repeat(64)}" }
    user_data: user-data.j2
machines:
  - name: node-01
    mac: 52:54:00:00:01:01
    ip: 10.20.0.11
    profile: img
    power:
      driver: ipmi
      address: 127.0.0.1
      username: admin
      password_env: BMC1
  - name: node-02
    mac: 52:54:00:00:01:02
    ip: 10.20.0.12
    profile: img
`;

function write(text: string, templates: Record<string, string> = { 'user-data.j2': '#cloud-config\nhostname: {{ machine.hostname }}\n' }): string {
  const dir = tempDir('inv');
  mkdirSync(join(dir, 'templates'));
  for (const [name, body] of Object.entries(templates)) writeFileSync(join(dir, 'templates', name), body);
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, text);
  return file;
}

function errorsOf(text: string, templates?: Record<string, string>): string[] {
  const file = write(text, templates);
  const r = validateInventory(file);
  return r.ok ? [] : r.errors.map((e) => formatError(e).slice(file.length + 1));
}

/** Replaces the line that starts with `from` (after indentation) — must match exactly one line. */
function edit(from: string, to: string, text = BASE): string {
  const lines = text.split('\n');
  const hits = lines.flatMap((l, i) => (l.trimStart().startsWith(from) ? [i] : []));
  assert.equal(hits.length, 1, `edit target ${from}`);
  const i = hits[0]!;
  const indent = lines[i]!.length - lines[i]!.trimStart().length;
  lines[i] = ' '.repeat(indent) + to;
  return lines.join('\n');
}

test('the base inventory is valid and maps to machine specs', () => {
  const r = loadInventory(write(BASE));
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatError).join('\n'));
  const specs = machineSpecs(r.value.inventory);
  assert.equal(specs.length, 2);
  assert.deepEqual(specs[1], { name: 'node-02', rack: null, mac: '52:54:00:00:01:02', ip: '10.20.0.12', hostname: 'node-02', profile: 'img', tags: [], power: { driver: 'manual' } });
  assert.equal(r.value.inventory.site.http_port, 8080, 'defaults are applied');
});

const CASES: { name: string; text: string; want: string[] }[] = [
  { name: 'duplicate name', text: edit('- name: node-02', '- name: node-01'), want: ['23:11 machines[1].name: duplicate name node-01: also machines[0]'] },
  { name: 'duplicate MAC', text: edit('mac: 52:54:00:00:01:02', 'mac: 52:54:00:00:01:01'), want: ['24:10 machines[1].mac: duplicate mac 52:54:00:00:01:01: also machines[0]'] },
  { name: 'duplicate MAC in another spelling', text: edit('mac: 52:54:00:00:01:02', 'mac: 52-54-00-00-01-01'), want: ['24:10 machines[1].mac: duplicate mac 52:54:00:00:01:01: also machines[0]'] },
  { name: 'duplicate IP', text: edit('ip: 10.20.0.12', 'ip: 10.20.0.11'), want: ['25:9 machines[1].ip: duplicate ip 10.20.0.11: also machines[0]'] },
  { name: 'malformed MAC', text: edit('mac: 52:54:00:00:01:02', 'mac: 52:54:00:00:01'), want: ['24:10 machines[1].mac: not a MAC address (52:54:00:12:34:56)'] },
  { name: 'malformed IP', text: edit('ip: 10.20.0.12', 'ip: 10.20.0.256'), want: ['25:9 machines[1].ip: not an IPv4 address (a.b.c.d)'] },
  { name: 'IP outside the subnet', text: edit('ip: 10.20.0.12', 'ip: 10.30.0.12'), want: ['25:9 machines[1].ip: 10.30.0.12 is outside the DHCP subnet 10.20.0.0/24'] },
  { name: 'reservation inside the pool', text: edit('ip: 10.20.0.12', 'ip: 10.20.0.150'), want: ['25:9 machines[1].ip: reservation 10.20.0.150 is inside the pool of 10.20.0.0/24: a pool address could be handed to another machine'] },
  { name: 'inline BMC password', text: edit('password_env: BMC1', 'password: hunter2'), want: [
    '19:7 machines[0].power: the ipmi driver needs password_env or password_file',
    '22:17 machines[0].power.password: a BMC password is never written inline: use password_env or password_file',
  ] },
  { name: 'unknown power driver', text: edit('driver: ipmi', 'driver: ilo'), want: ['19:15 machines[0].power.driver: unknown power driver "ilo": use ipmi, redfish, wol, manual'] },
  { name: 'unknown DHCP mode', text: edit('mode: full', 'mode: relay'), want: ['5:11 site.dhcp.mode: unknown DHCP mode "relay": use full or proxy'] },
  { name: 'template that does not exist', text: edit('user_data: user-data.j2', 'user_data: missing.j2'), want: ['12:16 profiles.img.user_data: template missing.j2 does not exist in TEMPLATES'] },
  { name: 'misspelt field', text: BASE.replace('  - name: node-02\n', '  - name: node-02\n    hostnme: x\n'), want: ['24:5 machines[1].hostnme: unknown field "hostnme"'] },
  { name: 'missing required field', text: edit('address: 10.20.0.1', 'http_port: 8080'), want: ['2:3 site.address: is required (or name racks, each with its own address)'] },
  { name: 'pool outside the subnet', text: edit('pool: 10.20.0.100-10.20.0.199', 'pool: 10.20.1.100-10.20.1.199'), want: ['7:11 site.dhcp.pool: 10.20.1.100-10.20.1.199 is not inside 10.20.0.0/24'] },
  { name: 'YAML syntax error', text: edit('address: 10.20.0.1', 'address: [10.20.0.1'), want: ['4:3 (yaml): Flow sequence in block collection must be sufficiently indented and end with a ]'] },
];

for (const c of CASES) {
  test(`inventory error: ${c.name}`, () => {
    const got = errorsOf(c.text).map((e) => e.replace(/does not exist in \S+/, 'does not exist in TEMPLATES'));
    assert.deepEqual(got, c.want);
  });
}

test('inventory error: a profile that does not exist, named with the ones that do', () => {
  const text = BASE.replace(/(ip: 10\.20\.0\.12\n\s+)profile: img/, '$1profile: nope');
  assert.deepEqual(errorsOf(text), ['26:14 machines[1].profile: profile nope does not exist (profiles: img)']);
});

test('every error is reported at once, in file order', () => {
  const text = edit('mode: full', 'mode: relay', edit('mac: 52:54:00:00:01:02', 'mac: zz', edit('password_env: BMC1', 'password: x')));
  const got = errorsOf(text);
  assert.equal(got.length, 4, got.join('\n'));
  const lines = got.map((e) => Number(e.split(':')[0]));
  assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
});

test('templates render under strict undefined at validate time', () => {
  const got = errorsOf(BASE, { 'user-data.j2': '#cloud-config\nhostname: {{ machine.hostnme }}\n' });
  assert.equal(got.length, 1);
  assert.match(got[0]!, /^12:16 profiles\.img\.user_data: renders with an error: .*user-data\.j2.*Line 2.*attempted to output null or undefined value/);
  assert.deepEqual(errorsOf(BASE, { 'user-data.j2': 'id: {{ instance_id }} url: {{ metadata_url }} cpus: {{ machine.facts.cpus }}\n' }), []);
});

test('the example inventory.yaml in the repository is valid', () => {
  const r = validateInventory(new URL('../../inventory.yaml', import.meta.url).pathname);
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatError).join('\n'));
});

test('erase: secure by default, no warning; an unknown mode is an error naming the modes', () => {
  const r = validateInventory(write(BASE));
  assert.ok(r.ok);
  assert.equal(r.value.inventory.site.erase, 'secure');
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(errorsOf(edit('pool:', 'pool: 10.20.0.100-10.20.0.199\n  erase: zero')), ['8:10 site.erase: unknown erase mode "zero": use secure, full, quick']);
});

test('erase quick, for the site or a profile, validates with a warning at its line naming the risk', () => {
  const text = edit('pool:', 'pool: 10.20.0.100-10.20.0.199\n  erase: quick', edit('user_data:', 'user_data: user-data.j2\n    erase: quick'));
  const file = write(text);
  const r = validateInventory(file);
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatError).join('\n'));
  const shown = r.warnings.map((w) => formatWarning(w).slice(file.length + 1));
  assert.equal(shown.length, 2);
  assert.match(shown[0]!, /^8:10 site\.erase: warning: erase quick wipes only signatures and the first and last 16 MiB, unverified: the previous tenant's data in between stays readable/);
  assert.match(shown[1]!, /^14:12 profiles\.img\.erase: warning: erase quick/);
  const full = validateInventory(write(edit('pool:', 'pool: 10.20.0.100-10.20.0.199\n  erase: full')));
  assert.ok(full.ok && full.warnings.length === 0, 'full is not warned about');
});

test('a redfish address spelled http:// validates with a warning at its line: credentials in clear; https:// and bare hosts do not', () => {
  const redfish = (address: string) => edit('address: 127.0.0.1', `address: ${address}`, edit('driver: ipmi', 'driver: redfish'));
  const file = write(redfish('http://10.9.0.5:8000'));
  const r = validateInventory(file);
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatError).join('\n'));
  const shown = r.warnings.map((w) => formatWarning(w).slice(file.length + 1));
  assert.equal(shown.length, 1);
  assert.match(shown[0]!, /^20:16 machines\[0\]\.power\.address: warning: plain http:\/\/: the BMC password \(basic auth\) or its session token crosses the network in clear/);
  for (const quiet of ['https://10.9.0.5', '10.9.0.5:8443']) {
    const q = validateInventory(write(redfish(quiet)));
    assert.ok(q.ok && q.warnings.length === 0, quiet);
  }
});

test('ssh_authorized_keys: key lines only; a value that would add YAML to the user-data is refused at its line', () => {
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9vZ29vZ29vZ29vZ29vZ29vZ29vZ29vZ29vZ29vZ29v me@host';
  assert.deepEqual(errorsOf(edit('user_data:', `user_data: user-data.j2\n    ssh_authorized_keys: ["${key}"]`)), []);
  const injected = edit('user_data:', `user_data: user-data.j2\n    ssh_authorized_keys: ["${key}\\nruncmd: [reboot]"]`);
  assert.deepEqual(errorsOf(injected), ['13:27 profiles.img.ssh_authorized_keys[0]: an OpenSSH public key line (ssh-ed25519 AAAA… comment)']);
  assert.equal(errorsOf(edit('user_data:', 'user_data: user-data.j2\n    ssh_authorized_keys: ["rm -rf /"]')).length, 1);
});
