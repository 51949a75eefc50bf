// Facts are what an agent reports after inspection, and the agent runs on a machine a tenant may
// have owned a minute ago: a hostile machine skips the agent's own clean-up and posts whatever it
// likes. Through the real report route (loopback daemon, the machine's address recorded as DHCP
// would): control characters are dropped before the store, oversized strings, lists, keys and
// deep nesting are refused with a 400 naming the field, and a refused report changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestDaemon, ADMIN_TOKEN, type TestDaemon } from '../lib/daemon.js';
import { agentReport, agentToken, dhcpGave } from '../lib/boot.js';
import { boundFacts, FACT_LIMITS } from '../../daemon/core/facts-bounds.js';

const MAC = '52:54:00:00:01:01';
let d: TestDaemon;
let token: string;

const base = { cpus: 2, memory_mib: 512, disks: [{ name: 'vda', size_bytes: 1 << 30 }], nics: [{ name: 'eth0', mac: MAC }] };
const api = async (path: string, body?: unknown) => (await fetch(d.url + path, {
  method: body ? 'POST' : 'GET', body: body ? JSON.stringify(body) : undefined,
  headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
})).json() as Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any

before(async () => {
  d = await startTestDaemon();
  await dhcpGave(d, MAC);
  await api('/api/v1/machines/node-01/actions/inspect', {});
  token = await agentToken(d, MAC);
});
after(async () => { await d.close(); });

const inspect = (facts: unknown) => agentReport(d, token, { step: 'inspect', status: 'done', facts: JSON.stringify(facts) });

test('oversized or deep facts are refused with the field named, and the machine stays inspecting', async () => {
  const cases: [unknown, RegExp][] = [
    [{ ...base, dmi: { serial: 'x'.repeat(FACT_LIMITS.stringLength + 1) } }, /body\.facts\.dmi\.serial: a string of 513/],
    [{ ...base, disks: Array.from({ length: FACT_LIMITS.entries + 1 }, (_, i) => ({ name: `d${i}`, size_bytes: 1 })) }, /body\.facts\.disks: 257 entries/],
    [{ ...base, extra: { a: { b: { c: { d: { e: { f: 1 } } } } } } }, /nested deeper than 6/],
    [{ ...base, ['k\n`reboot`']: 1 }, /body\.facts\.k\?\?reboot\?: keys are/],
  ];
  for (const [facts, why] of cases) {
    const r = await inspect(facts);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, why);
  }
  const m = (await api('/api/v1/machines/node-01')).machine;
  assert.equal(m.state, 'inspecting');
  assert.equal(m.facts, null);
});

test('control characters never reach the store: a serial with a newline and an escape arrives as one line', async () => {
  const r = await inspect({ ...base, dmi: { serial: 'SN1\nruncmd: [reboot]\u001b[2J\u0085\ttail' } });
  assert.equal(r.status, 200, r.text);
  const m = (await api('/api/v1/machines/node-01')).machine;
  assert.equal(m.state, 'ready');
  assert.equal(m.facts.dmi.serial, 'SN1runcmd: [reboot][2J tail');
});

test('boundFacts keeps honest facts as they are', () => {
  const honest = { ...base, cpu_model: 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz', dmi: { vendor: 'QEMU', serial: 'ABC-123' }, arch: 'x86_64' };
  assert.deepEqual(boundFacts(honest), { ok: true, facts: honest });
});
