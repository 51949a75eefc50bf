// Tokens an admin controls: a revoked or expired tenant token is refused with a 401 that says
// which; last use is recorded at most once a minute; the admin token rotates without a restart
// (tokens.json rewritten 0600, the old secret refused at once). Each attack uses the real daemon
// over a real port, and the CLI verbs are driven as an operator would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { REPO, startTestDaemon, type TestDaemon } from '../lib/daemon.js';
import { call } from '../lib/allocation.js';

const run = promisify(execFile);
const MAIN = join(REPO, 'daemon/cli/main.ts');
let d: TestDaemon;
before(async () => { d = await startTestDaemon(); });
after(async () => { await d.close(); });

async function cli(args: string[], token = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, RACKHAND_URL: d.url, RACKHAND_STATE_DIR: d.stateDir, RACKHAND_TOKEN: token };
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', MAIN, ...args], { env, cwd: REPO });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const admin = (method: string, path: string, body?: unknown) => call(d.url, d.tokens.admin, method, path, body);
const lastUsed = (name: string): string | null => {
  const db = new Database(join(d.stateDir, 'rackhand.db'), { readonly: true });
  try { return (db.prepare('SELECT last_used_at FROM api_tokens WHERE name = ?').get(name) as { last_used_at: string | null }).last_used_at; } finally { db.close(); }
};

test('a revoked tenant token is refused at once, with a 401 that says so; `tokens revoke` does it', async () => {
  const created = await cli(['tokens', 'create', '--owner', 'acme', '--name', 'acme-ci', '--json']);
  assert.equal(created.code, 0, created.stderr);
  const secret = JSON.parse(created.stdout).secret as string;
  assert.equal((await call(d.url, secret, 'GET', '/api/v1/machines')).status, 200);

  // Another tenant and a read-only token may not revoke it; a file token is not revoked here.
  const beta = (await admin('POST', '/api/v1/tokens', { owner: 'beta' })).body.secret as string;
  assert.equal((await call(d.url, beta, 'DELETE', '/api/v1/tokens/acme-ci')).status, 403);
  assert.equal((await call(d.url, d.tokens.readonly, 'DELETE', '/api/v1/tokens/acme-ci')).status, 403);
  assert.equal((await admin('DELETE', '/api/v1/tokens/admin')).status, 400);
  assert.equal((await admin('DELETE', '/api/v1/tokens/nobody')).status, 404);

  const revoked = await cli(['tokens', 'revoke', 'acme-ci']);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, /^token acme-ci \(owner acme\) revoked at \d{4}-/);
  const refused = await call(d.url, secret, 'GET', '/api/v1/machines');
  assert.equal(refused.status, 401);
  assert.match(refused.body.error.message, /^token acme-ci was revoked at \d{4}-/);
  assert.equal((await call(d.url, secret, 'POST', '/api/v1/allocations', { profile: 'lab-image' })).status, 401);
  const list = (await admin('GET', '/api/v1/tokens')).body.tokens as { name: string; state: string; revoked_at: string | null }[];
  assert.equal(list.find((t) => t.name === 'acme-ci')?.state, 'revoked');
  const events = (await admin('GET', '/api/v1/events?limit=50')).body.events as { event: string; cause: string }[];
  assert.ok(events.some((e) => e.event === 'token_revoked' && e.cause.includes('acme-ci')));
});

test('an expired tenant token is refused with a 401 that says when it expired; expiry in the past is a 400', async () => {
  const soon = new Date(Date.now() + 1500).toISOString();
  const res = await admin('POST', '/api/v1/tokens', { owner: 'acme', name: 'short-lived', expires_at: soon });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.token.expires_at, soon);
  assert.equal((await call(d.url, res.body.secret, 'GET', '/api/v1/machines')).status, 200);
  await new Promise((r) => setTimeout(r, Date.parse(soon) - Date.now() + 100));
  const refused = await call(d.url, res.body.secret, 'GET', '/api/v1/machines');
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error.message, `token short-lived expired at ${soon}`);

  const past = await admin('POST', '/api/v1/tokens', { owner: 'acme', expires_at: '2020-01-01T00:00:00Z' });
  assert.equal(past.status, 400);
  assert.equal(past.body.error.field, 'body.expires_at');
  assert.equal((await admin('POST', '/api/v1/tokens', { owner: 'acme', expires_at: 'tomorrow' })).status, 400);
  assert.equal((await cli(['tokens', 'create', '--owner', 'acme', '--expires', '-3d'])).code, 2);

  const month = await cli(['tokens', 'create', '--owner', 'acme', '--name', 'monthly', '--expires', '30d', '--json']);
  assert.equal(month.code, 0, month.stderr);
  const days = (Date.parse(JSON.parse(month.stdout).token.expires_at) - Date.now()) / 86400e3;
  assert.ok(days > 29.9 && days <= 30, `${days} days`);
});

test('last use is recorded, at most once a minute per token, and `tokens list` shows it', async () => {
  const { secret } = (await admin('POST', '/api/v1/tokens', { owner: 'gamma', name: 'gamma-ci' })).body as { secret: string };
  assert.equal(lastUsed('gamma-ci'), null);
  assert.equal((await call(d.url, secret, 'GET', '/api/v1/machines')).status, 200);
  await new Promise((r) => setTimeout(r, 50));
  const first = lastUsed('gamma-ci');
  assert.ok(first && Date.now() - Date.parse(first) < 5000, `recorded: ${first}`);
  // A busy tenant: 60 requests, 20 at a time, within the minute: the row is not written again.
  for (let i = 0; i < 3; i++) await Promise.all(Array.from({ length: 20 }, () => call(d.url, secret, 'GET', '/api/v1/allocations')));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(lastUsed('gamma-ci'), first, 'not rewritten within the minute');
  const listed = await cli(['tokens', 'list']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^NAME\s+OWNER\s+CREATED BY\s+CREATED\s+EXPIRES\s+LAST USED\s+STATE\n/);
  assert.match(listed.stdout, /\ngamma-ci\s+gamma\s+operator:admin\s+\d+s ago\s+never\s+\d+s ago\s+active\n/);
  assert.match(listed.stdout, /\nacme-ci\s+acme\s.*\srevoked\n/);
});

test('the admin token rotates: tokens.json rewritten 0600, the old secret refused at once, no restart', async () => {
  const file = join(d.stateDir, 'tokens.json');
  const tenant = (await admin('POST', '/api/v1/tokens', { owner: 'acme' })).body.secret as string;
  assert.equal((await call(d.url, tenant, 'POST', '/api/v1/tokens/rotate', {})).status, 403, 'not a tenant\'s');
  assert.equal((await call(d.url, d.tokens.readonly, 'POST', '/api/v1/tokens/rotate', {})).status, 403, 'not a read-only token\'s');
  assert.equal((await admin('POST', '/api/v1/tokens/rotate', { name: 'nobody' })).status, 404);

  // The CLI reads the admin token from tokens.json, rotates it, and keeps working after.
  const rotated = await cli(['tokens', 'rotate', '--json']);
  assert.equal(rotated.code, 0, rotated.stderr);
  const secret = JSON.parse(rotated.stdout).secret as string;
  assert.notEqual(secret, d.tokens.admin);
  const old = await call(d.url, d.tokens.admin, 'GET', '/api/v1/machines');
  assert.equal(old.status, 401, 'the old admin secret is refused at once');
  assert.equal((await call(d.url, secret, 'GET', '/api/v1/machines')).status, 200);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const entries = JSON.parse(readFileSync(file, 'utf8')).tokens as { name: string; token: string }[];
  assert.equal(entries.find((e) => e.name === 'admin')?.token, secret);
  assert.equal(entries.find((e) => e.name === 'viewer')?.token, d.tokens.readonly, 'other entries kept');
  assert.equal((await cli(['machines'])).code, 0, 'the CLI finds the new admin token in the file');

  // An admin rotates the read-only token too; the old one stops.
  const viewer = await call(d.url, secret, 'POST', '/api/v1/tokens/rotate', { name: 'viewer' });
  assert.equal(viewer.status, 200);
  assert.equal((await call(d.url, d.tokens.readonly, 'GET', '/api/v1/machines')).status, 401);
  assert.equal((await call(d.url, viewer.body.secret, 'GET', '/api/v1/machines')).status, 200);
  // A reload (SIGHUP) reads the file again: the rotated secrets stay in force.
  await d.daemon.reload();
  assert.equal((await call(d.url, secret, 'GET', '/api/v1/machines')).status, 200);
  assert.equal((await call(d.url, d.tokens.admin, 'GET', '/api/v1/machines')).status, 401);
});
