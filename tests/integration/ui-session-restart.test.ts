// Dashboard sessions live in the store: a daemon restarted on the same state directory keeps its
// users signed in (CSRF secret included), a tenant token revoked while it was down ends its
// sessions, sign-out ends one everywhere, and the database holds neither a session id nor a token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from '../lib/daemon.js';
import { call } from '../lib/allocation.js';

async function signIn(d: TestDaemon, token: string): Promise<string> {
  const r = await fetch(`${d.url}/ui/sign-in`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}`,
  });
  assert.equal(r.status, 303, 'signed in');
  const cookie = /^(rh_session=[^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1];
  assert.ok(cookie, 'a session cookie is set');
  return cookie;
}

async function page(d: TestDaemon, cookie: string, path = '/ui/machines'): Promise<{ status: number; csrf?: string }> {
  const r = await fetch(`${d.url}${path}`, { redirect: 'manual', headers: { cookie } });
  const body = await r.text();
  return { status: r.status, csrf: /"X-CSRF-Token":"([^"]+)"/.exec(body.replace(/&quot;/g, '"'))?.[1] };
}

test('a restart keeps sessions; a token revoked meanwhile ends its own; sign-out ends one; no secret at rest', async () => {
  const first = await startTestDaemon();
  let second: TestDaemon | undefined;
  try {
    const tenant = await call(first.url, first.tokens.admin, 'POST', '/api/v1/tokens', { owner: 'acme' });
    assert.equal(tenant.status, 201, JSON.stringify(tenant.body));
    const admin = await signIn(first, first.tokens.admin);
    const acme = await signIn(first, tenant.body.secret);
    const before = await page(first, admin);
    assert.equal(before.status, 200);
    assert.ok(before.csrf, 'the page carries its CSRF token');
    assert.equal((await page(first, acme)).status, 200);
    await first.close();

    const files = readdirSync(first.stateDir).filter((f) => f.includes('.db')).map((f) => join(first.stateDir, f));
    assert.ok(files.length > 0, `a database in ${first.stateDir}`);
    for (const f of files) {
      const raw = readFileSync(f);
      for (const secret of [admin.split('=')[1]!, acme.split('=')[1]!, first.tokens.admin, tenant.body.secret as string]) {
        assert.ok(!raw.includes(secret), `${f} holds no session id and no token`);
      }
    }

    second = await startTestDaemon({ stateDir: first.stateDir, inventoryFile: first.inventoryFile });
    const after = await page(second, admin);
    assert.equal(after.status, 200, 'still signed in after the restart');
    assert.equal(after.csrf, before.csrf, 'with the same CSRF secret');
    assert.equal((await page(second, acme)).status, 200);

    const revoked = await call(second.url, second.tokens.admin, 'DELETE', `/api/v1/tokens/${encodeURIComponent(tenant.body.token.name)}`);
    assert.ok(revoked.status < 300, JSON.stringify(revoked.body));
    const gone = await page(second, acme);
    assert.equal(gone.status, 303, 'a revoked token\'s session is over');

    const out = await fetch(`${second.url}/ui/sign-out`, {
      method: 'POST', redirect: 'manual', headers: { cookie: admin, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${encodeURIComponent(after.csrf!)}`,
    });
    assert.equal(out.status, 303);
    assert.equal((await page(second, admin)).status, 303, 'signed out');
  } finally {
    await second?.close();
  }
});
