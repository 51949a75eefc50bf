// `rackhand serve --store postgresql://…` against a throwaway cluster (tests/lib/postgres.ts): the
// daemon syncs the inventory into PostgreSQL (no SQLite file in the state directory), answers the
// API from there, and never writes the database password in a log line. `site.store` and
// `validate` judge the URL's form offline; a daemon that cannot reach its database says so, masked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ADMIN_TOKEN, inventoryCopy, prepareStateDir } from '../lib/daemon.js';
import { runCli, serveProcess, type ServeProcess } from '../lib/cli.js';
import { startPostgres, type PgCluster } from '../lib/postgres.js';
import { tempDir } from '../lib/tmp.js';

let cluster: PgCluster;
const daemons: ChildProcess[] = [];
before(async () => { cluster = await startPostgres(); });
after(async () => {
  for (const d of daemons) if (d.exitCode === null) d.kill('SIGKILL');
  await cluster?.stop();
});

/** Starts `serve` with `args` (power actions off); resolves with its URL once it listens, and its log so far. */
function serve(args: string[], env: Record<string, string> = { PGPASSWORD: '' }): Promise<ServeProcess> {
  return serveProcess(['--no-power', ...args], env).then((d) => { daemons.push(d.child); return d; }, (err: { child: ChildProcess }) => { daemons.push(err.child); throw err; });
}

const inventoryNames = (file: string) => [...readFileSync(file, 'utf8').matchAll(/^ {2}- name: (\S+)$/gm)].map((m) => m[1]!);

test('serve --store postgresql://… keeps the inventory in PostgreSQL and answers the API from it; the password is never logged', async () => {
  const database = await cluster.createDatabase('serve');
  const stateDir = tempDir('pg-serve-state');
  prepareStateDir(stateDir);
  const inventoryFile = inventoryCopy();
  const url = cluster.url(database);
  const d = await serve(['--inventory', inventoryFile, '--state-dir', stateDir, '--store', url]);
  const res = await fetch(`${d.url}/api/v1/machines`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.status, 200);
  const body = await res.json() as { machines: { name: string; state: string }[] };
  const expected = inventoryNames(inventoryFile);
  assert.ok(expected.length >= 3);
  assert.deepEqual(body.machines.map((m) => m.name), expected.sort());

  const db = new pg.Client(cluster.config(database));
  await db.connect();
  try {
    const { rows } = await db.query("SELECT name FROM machines WHERE source = 'inventory' ORDER BY name");
    assert.deepEqual(rows.map((r) => r.name), expected, 'the machines are in PostgreSQL');
    const enrolled = await db.query("SELECT count(*)::int AS n FROM events WHERE event = 'enrol'");
    assert.equal(enrolled.rows[0].n, expected.length, 'with their events');
  } finally {
    await db.end();
  }
  assert.equal(existsSync(join(stateDir, 'rackhand.db')), false, 'no SQLite file beside it');

  d.child.kill('SIGTERM');
  await new Promise((r) => d.child.once('exit', r));
  assert.equal(d.child.exitCode, 0);
  const log = d.log();
  assert.match(log, new RegExp(`store: PostgreSQL postgresql://rackhand:\\*\\*\\*@127\\.0\\.0\\.1:${cluster.port}/${database}`));
  assert.ok(!log.includes(cluster.password), 'the password is in no log line');
});

test('a daemon that cannot reach its database exits 1 with the URL masked', async () => {
  const stateDir = tempDir('pg-serve-state');
  prepareStateDir(stateDir);
  const wrong = `postgresql://rackhand:${cluster.password}-wrong@127.0.0.1:${cluster.port}/nothing_here`;
  const r = await runCli(['serve', '--inventory', inventoryCopy(), '--state-dir', stateDir, '--store', wrong, '--listen', '127.0.0.1', '--port', '0', '--http-only', '--no-power'], { PGPASSWORD: '' }, 60_000);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot open the PostgreSQL store postgresql:\/\/rackhand:\*\*\*@127\.0\.0\.1:\d+\/nothing_here: password authentication failed/);
  assert.ok(!(r.stdout + r.stderr).includes(cluster.password));
});

test('--store and site.store take a postgresql:// URL: validate and serve refuse any other form, without echoing it', async () => {
  const bad = await runCli(['serve', '--store', 'mysql://root:hunter2@db/rackhand']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--store: mysql:\/\/ is not a store Rackhand knows: use postgresql:\/\/USER@HOST\[:PORT\]\/DATABASE/);
  assert.ok(!bad.stderr.includes('hunter2'));

  const inventoryFile = inventoryCopy();
  const text = readFileSync(inventoryFile, 'utf8');
  const withStore = (value: string) => text.replace(/^site:\n/m, `site:\n  store: ${JSON.stringify(value)}\n`);
  writeFileSync(inventoryFile, withStore('postgresql://rackhand@db.example:5432/rackhand'));
  const good = await runCli(['validate', inventoryFile]);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stderr, '');

  writeFileSync(inventoryFile, withStore('postgresql://rackhand:hunter2@db.example/rackhand'));
  const inline = await runCli(['validate', inventoryFile]);
  assert.equal(inline.code, 0, inline.stderr);
  assert.match(inline.stderr, /site\.store: warning: a database password written in the inventory is readable by whoever reads the file/);
  assert.ok(!inline.stderr.includes('hunter2'));

  writeFileSync(inventoryFile, withStore('postgresql://db/a/b'));
  const wrong = await runCli(['validate', inventoryFile]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /:\d+:\d+ site\.store: the path is the database name, one segment/);
});

test('site.store is used when serve is given no --store', async () => {
  const database = await cluster.createDatabase('site_store');
  const stateDir = tempDir('pg-serve-state');
  prepareStateDir(stateDir);
  const inventoryFile = inventoryCopy();
  // No password in the file: it comes from PGPASSWORD, as the README advises.
  const text = readFileSync(inventoryFile, 'utf8').replace(/^site:\n/m, `site:\n  store: postgresql://rackhand@127.0.0.1:${cluster.port}/${database}\n`);
  writeFileSync(inventoryFile, text);
  const d = await serve(['--inventory', inventoryFile, '--state-dir', stateDir], { PGPASSWORD: cluster.password });
  const res = await fetch(`${d.url}/api/v1/machines`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.status, 200);
  assert.deepEqual(((await res.json()) as { machines: { name: string }[] }).machines.map((m) => m.name), inventoryNames(inventoryFile).sort());
  assert.match(d.log(), /store: PostgreSQL postgresql:\/\/rackhand@127\.0\.0\.1/);
  assert.equal(existsSync(join(stateDir, 'rackhand.db')), false);
  d.child.kill('SIGTERM');
  await new Promise((r) => d.child.once('exit', r));
});
