// Each machine has an operation log: the events of one operation merged with its agent's lines,
// listed per machine, readable by operators over the API and the CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO, startTestDaemon, type TestDaemon } from '../lib/daemon.js';
import { call } from '../lib/allocation.js';
import { agentLog as postLog, agentReport, agentToken, dhcpGave } from '../lib/boot.js';
import { mergeOplog, parseAgentLines } from '../../daemon/core/oplog.js';
import type { EventRecord, OperationRecord } from '../../daemon/core/store/types.js';

const run = promisify(execFile);
const MAC = '52:54:00:00:01:01';
let d: TestDaemon;
before(async () => {
  d = await startTestDaemon();
  for (const mac of [MAC, '52:54:00:00:01:02']) await dhcpGave(d, mac);
});
after(async () => { await d.close(); });

const admin = (method: string, path: string, body?: unknown) => call(d.url, d.tokens.admin, method, path, body);
const tokenOf = (mac: string) => agentToken(d, mac);
const agentLog = (token: string, text: string) => postLog(d, token, text);
const report = (token: string, fields: Record<string, string>) => agentReport(d, token, fields);
const FACTS = JSON.stringify({ cpus: 2, memory_mib: 512, arch: 'x86_64', disks: [{ name: 'vda', size_bytes: 2147483648, serial: 'D1' }], nics: [{ name: 'eth0', mac: MAC, link: true }], dmi: { vendor: 'QEMU', product: 'Standard PC', serial: 'S1' } });

test('merge: events of the operation only, in time order, the daemon first at equal times', () => {
  const op: OperationRecord = { id: 'op1', machine: 'm', kind: 'inspect', token: 't', state: 'succeeded', step: 'inspect', progress: null, error: null, createdAt: '2026-01-01T00:00:10.000Z', finishedAt: '2026-01-01T00:00:30.000Z' };
  const ev = (id: number, time: string, extra: Partial<EventRecord>): EventRecord => ({ id, time, machine: 'm', kind: 'power', event: 'on', from: null, to: null, cause: null, actor: 'system', data: null, ...extra });
  const events = [
    ev(1, '2026-01-01T00:00:05.000Z', { kind: 'transition', event: 'deploy', from: 'ready', to: 'deploying' }), // before: another operation
    ev(2, '2026-01-01T00:00:10.001Z', { kind: 'transition', event: 'inspect', from: 'enrolled', to: 'inspecting' }),
    ev(3, '2026-01-01T00:00:11.000Z', { cause: 'booting into inspect' }),
    ev(4, '2026-01-01T00:00:20.000Z', { machine: 'other' }),
    ev(5, '2026-01-01T00:00:30.001Z', { kind: 'transition', event: 'inspected', from: 'inspecting', to: 'ready' }),
    ev(6, '2026-01-01T00:00:40.000Z', { cause: 'after the end' }),
  ];
  const agent = parseAgentLines('2026-01-01T00:00:11.000Z agent up\n2026-01-01T00:00:25.000Z inspected: 2 CPUs\n');
  const merged = mergeOplog(op, events, agent);
  assert.deepEqual(merged.map((e) => `${e.source}: ${e.text}`), [
    'rackhand: enrolled → inspecting (inspect) [system]',
    'rackhand: power on: booting into inspect [system]',
    'agent: agent up',
    'agent: inspected: 2 CPUs',
    'rackhand: inspecting → ready (inspected) [system]',
  ]);
});

test('operations and their logs over the API and the CLI; tenants cannot read them', async () => {
  assert.equal((await admin('POST', '/api/v1/machines/node-01/actions/inspect', {})).status, 200);
  const inspect = await tokenOf(MAC);
  assert.equal((await agentLog(inspect, 'rackhand-agent: eth0 10.20.0.11/24\nrackhand-agent: inspected: 2 CPUs\n')).status, 204);
  assert.equal((await report(inspect, { step: 'inspect', status: 'done', facts: FACTS })).status, 200);
  assert.equal((await agentLog(inspect, 'rackhand-agent: powering off')).status, 403, 'an ended operation takes no more lines');
  assert.equal((await admin('POST', '/api/v1/machines/node-01/actions/deploy', {})).status, 200);
  const deploy = await tokenOf(MAC);
  assert.notEqual(deploy, inspect);
  await agentLog(deploy, 'rackhand-agent: image: writing');

  const ops = (await admin('GET', '/api/v1/machines/node-01/operations')).body.operations as { id: string; kind: string; state: string }[];
  assert.deepEqual(ops.map((o) => [o.kind, o.state]), [['deploy', 'running'], ['inspect', 'succeeded']]);
  assert.ok(!JSON.stringify(ops).includes(inspect), 'operation tokens stay out of the API');

  const first = (await admin('GET', `/api/v1/machines/node-01/operations/${ops[1]!.id}/log`)).body;
  const texts = (first.entries as { source: string; text: string }[]).map((e) => `${e.source}: ${e.text}`);
  assert.equal(texts[0], 'rackhand: enrolled → inspecting (inspect): inspect requested through the API [operator:admin]');
  assert.ok(texts.includes('agent: rackhand-agent: inspected: 2 CPUs'), texts.join('\n'));
  assert.ok(!texts.includes('agent: rackhand-agent: powering off'));
  assert.ok(texts.some((t) => /^rackhand: inspecting → ready/.test(t)), texts.join('\n'));
  assert.ok(!texts.some((t) => /image: writing|ready → deploying/.test(t)), 'the next operation stays in its own log');
  const latest = (await admin('GET', '/api/v1/machines/node-01/operations/latest/log')).body;
  assert.equal(latest.operation.kind, 'deploy');
  assert.ok(latest.entries.some((e: { text: string }) => e.text === 'rackhand-agent: image: writing'));

  assert.equal((await admin('GET', `/api/v1/machines/node-02/operations/${ops[1]!.id}/log`)).status, 404, 'an operation of another machine');
  assert.equal((await admin('GET', '/api/v1/machines/node-01/operations/nope/log')).status, 404);
  assert.equal((await admin('GET', '/api/v1/machines/node-01/operations?limit=0')).status, 400);
  assert.equal((await call(d.url, d.tokens.readonly, 'GET', '/api/v1/machines/node-01/operations')).status, 200);

  // A tenant owning node-02 sees the machine, not its history (it may be an earlier tenant's).
  await admin('POST', '/api/v1/machines/node-02/actions/inspect', {});
  assert.equal((await report(await tokenOf('52:54:00:00:01:02'), { step: 'inspect', status: 'done', facts: FACTS })).status, 200);
  assert.equal((await admin('POST', '/api/v1/machines/node-02/actions/allocate', { owner: 'acme' })).status, 200);
  const acme = (await admin('POST', '/api/v1/tokens', { owner: 'acme' })).body.secret as string;
  assert.equal((await call(d.url, acme, 'GET', '/api/v1/machines/node-02')).status, 200);
  assert.equal((await call(d.url, acme, 'GET', '/api/v1/machines/node-02/operations')).status, 403);
  assert.equal((await call(d.url, acme, 'GET', '/api/v1/machines/node-01/operations/latest/log')).status, 404);

  const env = { ...process.env, RACKHAND_URL: d.url, RACKHAND_TOKEN: d.tokens.admin };
  const cli = (args: string[]) => run(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), ...args], { env, cwd: REPO });
  const list = (await cli(['operations', 'node-01'])).stdout;
  assert.match(list, /^ID\s+KIND\s+STATE\s+STEP\s+STARTED\s+TOOK\s+ERROR$/m);
  assert.match(list, /\sdeploy\s+running\s/);
  assert.match(list, /\sinspect\s+succeeded\s/);
  const log = (await cli(['log', 'node-01', ops[1]!.id])).stdout;
  assert.match(log, /^# node-01: inspect \S+ — succeeded/);
  assert.match(log, /Z {2}agent {5}rackhand-agent: inspected: 2 CPUs$/m);
  assert.match(log, /Z {2}rackhand {2}enrolled → inspecting \(inspect\): inspect requested through the API \[operator:admin\]$/m);
});
