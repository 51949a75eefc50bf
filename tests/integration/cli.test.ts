import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inventoryCopy, REPO } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';
import { CLI_MAIN as MAIN, runCli } from '../lib/cli.js';

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, env);

let serve: ChildProcess;
let url = '';
let stateDir = '';
let inventoryFile = '';
let log = '';

before(async () => {
  stateDir = tempDir('cli-state');
  inventoryFile = inventoryCopy();
  serve = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--inventory', inventoryFile, '--state-dir', stateDir, '--listen', '127.0.0.1', '--port', '0', '--http-only', '--no-power'], { stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise((resolve, reject) => {
    serve.stdout!.on('data', (d: Buffer) => {
      log += d;
      const m = /HTTP listening on 127\.0\.0\.1:(\d+)/.exec(log);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    serve.on('exit', (code) => reject(new Error(`serve exited ${code}: ${log}`)));
  });
});

after(() => { if (serve.exitCode === null) serve.kill('SIGKILL'); });

const env = () => ({ RACKHAND_URL: url, RACKHAND_STATE_DIR: stateDir, RACKHAND_TOKEN: '' });

test('first start writes a private token file and says where; the CLI finds the admin token there', async () => {
  const file = join(stateDir, 'tokens.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.match(log, new RegExp(`created the API token file ${file.replace(/[.]/g, '\\.')}`));
  const { RACKHAND_TOKEN: _, ...noToken } = env();
  const r = await cli(['machines'], noToken);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^NAME\s+STATE\s+MAC\s+IP\s+PROFILE\s+OWNER\s+SINCE\s+NOTE\n/);
  assert.match(r.stdout, /node-01\s+enrolled\s+52:54:00:00:01:01\s+10\.20\.0\.11\s+lab-image/);
});

test('read verbs print JSON with --json', async () => {
  const { RACKHAND_TOKEN: _, ...e } = env();
  const r = await cli(['show', 'node-02', '--json'], e);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).machine.power.driver, 'redfish');
});

test('exit codes: 0 ok, 1 failed (409, 404, unreachable), 2 bad usage', async () => {
  const { RACKHAND_TOKEN: _, ...e } = env();
  assert.equal((await cli(['maintenance', 'node-03', 'on'], e)).code, 0);
  const illegal = await cli(['maintenance', 'node-03', 'on'], e);
  assert.equal(illegal.code, 1);
  assert.equal(illegal.stderr, 'rackhand: cannot maintenance_on a machine that is maintenance; allowed: maintenance_off\n');
  assert.equal((await cli(['show', 'node-42'], e)).code, 1);
  assert.equal((await cli(['retry'], e)).code, 2);
  assert.equal((await cli(['maintenance', 'node-03', 'sideways'], e)).code, 2);
  assert.equal((await cli(['frobnicate'], e)).code, 2);
  assert.equal((await cli(['machines', '--colour'], e)).code, 2);
  const down = await cli(['machines'], { ...e, RACKHAND_URL: 'http://127.0.0.1:9' });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^rackhand: cannot reach the daemon at http:\/\/127\.0\.0\.1:9/);
  const events = await cli(['events', 'node-03'], e);
  assert.match(events.stdout, /node-03\s+transition\s+maintenance_on\s+enrolled → maintenance/);
});

test('validate prints FILE:LINE:COL errors and exits 2; a good file exits 0', async () => {
  const good = await cli(['validate', inventoryFile]);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /ok \(3 machines, 5 profiles\)/);
  const bad = join(tempDir('cli-inv'), 'inventory.yaml');
  writeFileSync(bad, readFileSync(inventoryFile, 'utf8').replace('mac: 52:54:00:00:01:02', 'mac: 52:54:00:00:01:01'));
  const r = await cli(['validate', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`^${bad}:\\d+:\\d+ machines\\[1\\]\\.mac: duplicate mac 52:54:00:00:01:01: also machines\\[0\\]$`, 'm'));
});

test('SIGHUP re-reads the inventory; SIGTERM drains and exits 0', async () => {
  const { RACKHAND_TOKEN: _, ...e } = env();
  writeFileSync(inventoryFile, readFileSync(inventoryFile, 'utf8').replace(/  - name: node-03[\s\S]*$/, ''));
  serve.kill('SIGHUP');
  let listing = '';
  for (let i = 0; i < 50 && !/retired/.test(listing); i++) {
    await new Promise((r) => setTimeout(r, 100));
    listing = (await cli(['machines', '--all'], e)).stdout;
  }
  assert.match(listing, /node-03\s.*retired/, 'a machine gone from the file is retired, not deleted');
  const exit = new Promise<number | null>((resolve) => serve.on('exit', (code) => resolve(code)));
  serve.kill('SIGTERM');
  assert.equal(await exit, 0);
  assert.match(log, /"msg":"stopped"/);
});

test('validate warns about erase quick at its FILE:LINE:COL and still exits 0', async () => {
  const file = join(tempDir('cli-inv'), 'inventory.yaml');
  writeFileSync(file, readFileSync(inventoryFile, 'utf8').replace(/^  discovery: (\w+)/m, '  erase: quick\n  discovery: $1'));
  cpSync(join(REPO, 'templates'), join(file, '../templates'), { recursive: true });
  const r = await cli(['validate', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^${file}:\\d+:10 site\\.erase: warning: erase quick wipes only signatures and the first and last 16 MiB, unverified: the previous tenant's data in between stays readable`, 'm'));
  assert.match(r.stdout, /: ok \(/);
});
