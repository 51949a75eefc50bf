// An installer's start report (POST /v1/installer/TOKEN/started, what the shipped answer files'
// first command sends), against an in-process daemon: the machine's iPXE script boots the
// installer with its answer URL, hostname and domain; the answer carries the report; the report
// marks the operation (step `installer`) and writes one event that the API and `rackhand events`
// show, however often and however concurrently it comes; a wrong token, another address, a
// machine not deployed by an installer and an ended operation are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startTestDaemon, type TestDaemon } from '../lib/daemon.js';
import { agentReport, agentToken, dhcpGave, operationToken, script } from '../lib/boot.js';
import { runCli } from '../lib/cli.js';
import { call } from '../lib/allocation.js';

const run = promisify(execFile);
let d: TestDaemon;

before(async () => {
  d = await startTestDaemon();
  for (const mac of ['52:54:00:00:01:01', '52:54:00:00:01:03']) await dhcpGave(d, mac);
});
after(async () => { await d.close(); });

/** The admin's API: POST with a body, GET without; the answer's JSON. */
const api = async (path: string, body?: object) => (await call(d.url, d.tokens.admin, body ? 'POST' : 'GET', path, body)).body as Record<string, any>;
/** curl from a loopback address of our choice: 127.0.0.1 is the machines' own (dhcpGave). */
const curl = async (url: string, opts: { method?: string; from?: string } = {}) => {
  const { stdout } = await run('curl', ['-sS', '--interface', opts.from ?? '127.0.0.1', '-X', opts.method ?? 'POST', '-w', '\n%{http_code}', url]);
  const i = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(i + 1)), body: stdout.slice(0, i) };
};
/** Inspected by the agent (over the agent API): ready to deploy. */
async function makeReady(name: string, mac: string): Promise<void> {
  await api(`/api/v1/machines/${name}/actions/inspect`, {});
  const facts = JSON.stringify({ cpus: 2, memory_mib: 1024, arch: 'x86_64', disks: [{ name: 'vda', size_bytes: 2 ** 33 }], nics: [{ name: 'eth0', mac }] });
  const r = await agentReport(d, await agentToken(d, mac), { step: 'inspect', status: 'done', facts });
  assert.equal(r.status, 200, r.text);
  assert.equal((await api(`/api/v1/machines/${name}`)).machine.state, 'ready');
}
const startedEvents = async () => ((await api('/api/v1/events?machine=node-03&limit=1000')).events as { event: string; cause: string }[])
  .filter((e) => e.event === 'installer_started');

test('the installer reports its start once; the API and rackhand events show it', async () => {
  await makeReady('node-03', '52:54:00:00:01:03');
  assert.equal((await api('/api/v1/machines/node-03/actions/deploy', {})).machine.state, 'deploying');
  const token = await operationToken(d, 'node-03');
  const base = d.url.replace(/:\d+$/, ':8080'); // templates render the site's address and port
  const text = await script(d, '52:54:00:00:01:03');
  assert.match(text, new RegExp(`^kernel ${base.replace('127.0.0.1', '10.20.0.1')}/boot/installers/debian/linux initrd=initrd.img auto=true priority=critical url=\\S+/v1/answer/${token} hostname=node-03 domain=localdomain$`, 'm'));
  const answer = await curl(`${d.url}/v1/answer/${token}`, { method: 'GET' });
  assert.equal(answer.status, 200);
  assert.match(answer.body, new RegExp(`^d-i preseed/early_command string wget .* '\\S+/v1/installer/${token}/started' \\|\\| true$`, 'm'));

  const url = `${d.url}/v1/installer/${token}/started`;
  // Refused: a wrong token, the right one from another address, an unknown report.
  assert.equal((await curl(`${d.url}/v1/installer/${'x'.repeat(32)}/started`)).status, 403);
  assert.equal((await curl(url, { from: '127.0.0.2' })).status, 403, 'not the machine\'s address');
  assert.equal((await curl(`${d.url}/v1/installer/${token}/finished`)).status, 404);
  assert.equal((await startedEvents()).length, 0, 'refusals start nothing');

  // Reported ten times at once, then again with GET: one event, the first time kept.
  const replies = await Promise.all(Array.from({ length: 10 }, () => curl(url)));
  for (const r of replies) assert.equal(r.status, 200, r.body);
  const at = new Set(replies.map((r) => JSON.parse(r.body).installer_started));
  assert.equal(at.size, 1, 'every reply names the same start');
  assert.equal((await curl(url, { method: 'GET' })).status, 200);
  const events = await startedEvents();
  assert.equal(events.length, 1, 'one event however often it is reported');
  assert.equal(events[0]!.cause, 'the installer started (reported from 127.0.0.1)');
  const m = (await api('/api/v1/machines/node-03')).machine;
  assert.equal(m.state, 'deploying');
  assert.equal(m.operation.step, 'installer');
  assert.equal(m.operation.progress.installer_started, [...at][0]);

  const env = { RACKHAND_URL: d.url, RACKHAND_TOKEN: d.tokens.admin };
  const cli = await runCli(['events', 'node-03'], env);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /installer_started.*the installer started \(reported from 127\.0\.0\.1\)/);

  // The end: the phone-home from the answer's late command; then the token no longer reports.
  assert.equal((await curl(`${d.url}/v1/phone-home/${token}`)).status, 200);
  assert.equal((await api('/api/v1/machines/node-03')).machine.state, 'deployed');
  assert.equal((await curl(url)).status, 403, 'the operation has ended');
  assert.equal((await startedEvents()).length, 1);
});

test('a machine deployed with an image (the agent) has no installer to report', async () => {
  await makeReady('node-01', '52:54:00:00:01:01');
  await api('/api/v1/machines/node-01/actions/deploy', {});
  const token = await operationToken(d, 'node-01');
  const r = await curl(`${d.url}/v1/installer/${token}/started`);
  assert.equal(r.status, 409, r.body);
  assert.match(r.body, /not being deployed by an installer/);
});
