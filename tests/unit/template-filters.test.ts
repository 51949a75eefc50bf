import { test } from 'node:test';
import assert from 'node:assert/strict';
import nunjucks from 'nunjucks';
import { parse as parseYaml } from 'yaml';
import { kernelArgValue, oneLine, preseedValue, shellWord, yamlQuoted, yamlValue } from '../../daemon/core/template-filters.js';
import { templateEnv } from '../../daemon/core/templates.js';
import { tempDir } from '../lib/tmp.js';

test('yaml: exact round trip in printable ASCII; numbers, booleans, null, lists and mappings keep their type', () => {
  for (const s of ['', 'plain', 'a"b\\c', 'tab\tnl\ncr\r', '\u0000\u0085\u2028', 'é😀', '- x', ': y', '#z']) {
    const q = yamlQuoted(s);
    assert.match(q, /^"[\x20-\x7e]*"$/);
    assert.equal(parseYaml(`v: ${q}`).v, s);
  }
  assert.equal(parseYaml(`v: ${yamlQuoted('\ud800x')}`).v, '\ufffdx', 'a lone surrogate becomes U+FFFD');
  assert.equal(yamlValue(4), '4');
  assert.equal(yamlValue(Number.NaN), '"NaN"');
  assert.equal(yamlValue(true), 'true');
  assert.equal(yamlValue(null), 'null');
  assert.deepEqual(parseYaml(`v: ${yamlValue({ 'a: b': ['x', 1, null, { c: 'd\n' }] })}`).v, { 'a: b': ['x', 1, null, { c: 'd\n' }] });
  assert.equal(yamlValue(new nunjucks.runtime.SafeString('a\nb')), '"a\\nb"');
});

test('shell, preseed, oneline: one line; shell quotes each list item', () => {
  assert.equal(shellWord("it's"), `'it'\\''s'`);
  assert.equal(shellWord(['a b', 'c']), `'a b' 'c'`);
  assert.equal(shellWord('a\nb'), `'a b'`);
  assert.equal(preseedValue('  host\\\\ \n'), 'host');
  assert.equal(oneLine('a\r\nb\u2028c'), 'a  b c');
});

test('kernel: one argument\'s value — whitespace and what iPXE or a shell reads become _, cut to 256', () => {
  assert.equal(kernelArgValue('node-03'), 'node-03');
  assert.equal(kernelArgValue('http://10.20.0.1:8080/v1/answer/Ab_-9'), 'http://10.20.0.1:8080/v1/answer/Ab_-9');
  assert.equal(kernelArgValue('x url=http://evil/p.cfg'), 'x_url=http://evil/p.cfg');
  assert.equal(kernelArgValue('a\nb;c${d}#e`f\'g"h'), 'a_b_c__d__e_f_g_h');
  assert.equal(kernelArgValue('x'.repeat(1000)).length, 256);
});

test('a filter given an undefined variable fails the render, as strict templates do', () => {
  const env = templateEnv(tempDir('filters'));
  for (const f of ['yaml', 'shell', 'preseed', 'oneline', 'kernel']) {
    assert.throws(() => env.renderString(`{{ machine.nope | ${f} }}`, { machine: {} }), /undefined/);
  }
  assert.equal(env.renderString('{{ x | yaml }}', { x: 'a: b' }), '"a: b"');
});
