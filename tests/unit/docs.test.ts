import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mermaidDiagram, OPERATOR_EVENTS } from '../../daemon/core/lifecycle.js';
import { ERROR_CODES } from '../../daemon/http/errors.js';
import { REPO } from '../lib/daemon.js';

const read = (p: string) => readFileSync(join(REPO, p), 'utf8');

test('docs/lifecycle.md carries the diagram drawn from the current table', () => {
  const block = /```mermaid\n([\s\S]*?)```/.exec(read('docs/lifecycle.md'))?.[1]?.trim();
  assert.equal(block, mermaidDiagram(), 'regenerate with: npx rackhand diagram');
});

test('docs/api.md lists every error code with its status, and every operator event', () => {
  const api = read('docs/api.md');
  for (const [code, e] of Object.entries(ERROR_CODES)) assert.ok(api.includes(`| \`${code}\` | ${e.status} |`), code);
  for (const event of OPERATOR_EVENTS) assert.ok(api.includes(`\`${event}\``), event);
});

test('the README opens with the two set-up commands', () => {
  const firstScreen = read('README.md').split('\n').slice(0, 15).join('\n');
  assert.match(firstScreen, /^make demo\b/m);
  assert.match(firstScreen, /^make test\b/m);
});
