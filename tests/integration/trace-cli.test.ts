// `rackhand trace MACHINE`: the boot trace printed newest last, one line a step (time, kind,
// outcome, summary), terminal escapes a machine sent dropped; --limit and --json; a tenant's token
// is refused (exit 1), as the API refuses it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startReadyRack, call } from '../lib/allocation.js';
import type { TestDaemon } from '../lib/daemon.js';
import { runCli } from '../lib/cli.js';
import { TRACE_KEEP } from '../../daemon/core/boot-trace.js';

let d: TestDaemon;
before(async () => {
  d = await startReadyRack([{ name: 'web-01', cpus: 4, memoryGib: 8, diskGib: 20, tags: ['acme'] }]);
  await d.daemon.store.appendBootTrace([
    { machine: 'web-01', kind: 'dhcp', outcome: 'no_answer', summary: 'DISCOVER → no answer: no loader for client arch 11', detail: { type: 'DISCOVER', arch: 11 }, at: '2026-11-30T10:00:00.000Z' },
    { machine: 'web-01', kind: 'tftp', outcome: 'ok', summary: 'RRQ ipxe.efi\u001b[2J\u001b]0;pwned\u0007 → sent (1024 bytes)', detail: { file: 'ipxe.efi' }, at: '2026-11-30T10:00:01.000Z' },
    { machine: 'web-01', kind: 'http', outcome: 'refused', summary: 'GET /v1/nocloud/[redacted]/user-data → 403', detail: { status: 403 }, text: '#!ipxe\nexit\n', at: '2026-11-30T10:00:02.000Z' },
  ], TRACE_KEEP);
});
after(() => d?.close());

const env = (token: string) => ({ RACKHAND_URL: d.url, RACKHAND_TOKEN: token });

test('the trace, newest last, escapes dropped; --limit; --json', async () => {
  const r = await runCli(['trace', 'web-01'], env(d.tokens.readonly));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trimEnd().split('\n'), [
    '2026-11-30T10:00:00.000Z  DHCP  NO ANSWER  DISCOVER → no answer: no loader for client arch 11',
    '2026-11-30T10:00:01.000Z  TFTP  ok         RRQ ipxe.efi → sent (1024 bytes)',
    '2026-11-30T10:00:02.000Z  HTTP  REFUSED    GET /v1/nocloud/[redacted]/user-data → 403',
  ]);
  const last = await runCli(['trace', 'web-01', '--limit', '1', '--json'], env(d.tokens.admin));
  const body = JSON.parse(last.stdout) as { machine: string; entries: { kind: string; text?: string }[] };
  assert.equal(body.machine, 'web-01');
  assert.deepEqual(body.entries.map((e) => e.kind), ['http']);
  assert.equal(body.entries[0]!.text, '#!ipxe exit ', 'server text reaches the terminal with its newlines as spaces');
});

test('a tenant token is refused, its own machine or not; an unknown machine is not found', async () => {
  const t = await call(d.url, d.tokens.admin, 'POST', '/api/v1/tokens', { owner: 'acme' });
  assert.equal((await call(d.url, d.tokens.admin, 'POST', '/api/v1/allocations', { owner: 'acme', profile: 'lab-image', constraints: { tags: ['acme'] } })).status, 201);
  const own = await runCli(['trace', 'web-01'], env(t.body.secret));
  assert.equal(own.code, 1);
  assert.match(own.stderr, /tenant token .* may not read boot traces/);
  assert.equal(own.stdout, '');
  assert.equal((await runCli(['trace', 'node-99'], env(d.tokens.admin))).code, 1);
});
