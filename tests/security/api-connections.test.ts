// A client that opens many connections and sends nothing must not stop another from being served.
// The daemon runs in its own namespace with 512 file descriptors; the attacker, a machine on the
// provisioning link, opens 1,000 idle connections. Without a per-source cap the daemon runs out of
// descriptors and the next client is turned away; with it the attacker keeps its share
// (site.http_connections.per_source) and a second machine is served at once. A total cap
// (site.http_connections.max) holds across sources.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { twoHostLink, type Link } from '../lib/netns.js';
import { inventoryCopy, REPO } from '../lib/daemon.js';
import { serveInNamespace } from '../lib/serve-in-ns.js';
const FLOOD = join(REPO, 'tests/lib/idle-flood.ts');
const PORT = 8080;
let link: Link;
let daemon: ChildProcess;
let inventory = '';
const floods: ChildProcess[] = [];

before(async () => {
  link = await twoHostLink({ tag: 'conn', serverAddress: '10.20.0.1', clientAddress: '10.20.0.2' });
  for (const a of ['10.20.0.3', '10.20.0.4']) await link.client.ip('addr', 'add', `${a}/24`, 'dev', link.clientIf);
  inventory = inventoryCopy();
  daemon = await serveInNamespace(link.server, inventory, { port: PORT, wrap: ['prlimit', '--nofile=512:512'] });
});

after(async () => {
  for (const f of floods) f.stdin?.end();
  daemon?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  await link?.close();
});

/** Starts an idle flood from `from`; resolves with what it saw once settled. */
async function flood(from: string, count: number): Promise<{ opened: number; open: number; closed: number; failed: number }> {
  const child = link.client.spawn(process.execPath, ['--import', 'tsx', FLOOD, '10.20.0.1', String(PORT), from, String(count)], { cwd: REPO });
  floods.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`flood exited ${code}`)));
  });
  return JSON.parse(line);
}

const healthz = (from: string) => link.client.exec('curl', ['-sS', '-m', '5', '--interface', from, '-o', '/dev/null', '-w', '%{http_code} %{time_total}', `http://10.20.0.1:${PORT}/healthz`]);

test('1,000 idle connections from one machine: it keeps 128, another machine is served at once', async () => {
  const seen = await flood('10.20.0.2', 1000);
  const [code, seconds] = (await healthz('10.20.0.3').catch((e: Error) => e.message)).split(' ');
  assert.equal(code, '200', 'the other machine is served');
  assert.ok(Number(seconds) < 1, `served in ${seconds} s`);
  assert.equal(seen.open, 128, `the attacker kept ${seen.open} connections`);
  const metrics = await link.server.exec('curl', ['-sS', `http://127.0.0.1:${PORT}/metrics`]);
  const refused = Number(/rackhand_http_connections_refused_total\{cap="per_source"\} (\d+)/.exec(metrics)?.[1]);
  assert.ok(refused >= 872, `refused per source: ${refused}`);
});

test('the total cap holds across sources (site.http_connections.max, applied on reload)', async () => {
  writeFileSync(inventory, readFileSync(inventory, 'utf8').replace(/^site:\n/m, 'site:\n  http_connections: { max: 150, per_source: 128 }\n'));
  daemon.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 1000));
  // 128 held by the first attacker (and the curl above is gone): 22 left for everyone else.
  const second = await flood('10.20.0.4', 100);
  assert.equal(second.open, 22, `the second attacker kept ${second.open}`);
  // Full: even the operator on the loopback waits until the attackers' connections go.
  for (const f of floods) f.stdin!.end();
  await new Promise((r) => setTimeout(r, 500));
  const metrics = await link.server.exec('curl', ['-sS', '-m', '5', `http://127.0.0.1:${PORT}/metrics`]);
  assert.match(metrics, /rackhand_http_connections_refused_total\{cap="total"\} 78\n/);
});
