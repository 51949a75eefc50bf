// The dashboard's live stream (GET /ui/events/stream) without a browser: it names the machines
// whose history moved, only those the signed-in token may see; it is capped per daemon; it needs
// a session; and it ends when the daemon closes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call, makeReady, rackInventory } from '../lib/allocation.js';
import { startTestDaemon, type TestDaemon } from '../lib/daemon.js';

let d: TestDaemon;
let acme = '';
const MACHINES = [
  { name: 'a-01', cpus: 4, memoryGib: 8, diskGib: 50, tags: ['acme'] },
  { name: 'g-01', cpus: 4, memoryGib: 8, diskGib: 50, tags: ['globex'] },
];

before(async () => {
  d = await startTestDaemon({ inventoryFile: rackInventory(MACHINES), serve: { maxUiStreams: 2 } });
  await makeReady(d.daemon.store, MACHINES);
  for (const owner of ['acme', 'globex']) {
    const t = await call(d.url, d.tokens.admin, 'POST', '/api/v1/tokens', { owner });
    if (owner === 'acme') acme = t.body.secret;
    assert.equal((await call(d.url, d.tokens.admin, 'POST', '/api/v1/allocations', { owner, profile: 'lab-image', constraints: { tags: [owner] } })).status, 201);
  }
});
after(async () => { await d.close(); });

async function session(token: string): Promise<string> {
  const r = await fetch(`${d.url}/ui/sign-in`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` });
  assert.equal(r.status, 303);
  return r.headers.get('set-cookie')!.split(';')[0]!;
}

/** Opens a stream and collects its text as it arrives. */
async function open(cookie: string, query = '') {
  const stop = new AbortController();
  const res = await fetch(`${d.url}/ui/events/stream${query}`, { headers: { cookie }, signal: stop.signal });
  let text = '';
  const done = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    try { for await (const chunk of res.body) text += decoder.decode(chunk as Uint8Array, { stream: true }); } catch { /* aborted */ }
  })();
  return { res, text: () => text, close: () => stop.abort(), done };
}

const until = async (what: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('without a session: no stream (redirected to sign-in)', async () => {
  const r = await fetch(`${d.url}/ui/events/stream`, { redirect: 'manual' });
  assert.equal(r.status, 303);
});

test('streams name moved machines; a tenant hears only its own; a third stream is refused (cap 2); close ends them', async () => {
  const admin = await open(await session(d.tokens.admin));
  const tenant = await open(await session(acme));
  assert.equal(admin.res.status, 200);
  assert.equal(admin.res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const third = await fetch(`${d.url}/ui/events/stream`, { headers: { cookie: await session(d.tokens.admin) } });
  assert.equal(third.status, 503, 'the cap');
  const before = (await d.daemon.store.listEvents({ limit: 1 }))[0]!.id;
  assert.equal((await call(d.url, d.tokens.admin, 'POST', '/api/v1/machines/g-01/actions/fail', { reason: 'test' })).status, 200);
  assert.equal((await call(d.url, d.tokens.admin, 'POST', '/api/v1/machines/a-01/actions/fail', { reason: 'test' })).status, 200);
  await until(() => admin.text().includes('data: "a-01"') && tenant.text().includes('data: "a-01"'));
  assert.ok(admin.text().includes('event: machine\ndata: "g-01"\n\n'), admin.text());
  assert.ok(!tenant.text().includes('g-01'), `the tenant hears nothing of another's machine: ${tenant.text()}`);
  // A freed slot can be taken again (once the server has seen the client leave); a stream opened
  // with after=ID (the page's newest id when it was read) tells of what committed since.
  tenant.close();
  const cookie = await session(d.tokens.admin);
  let again = await open(cookie, `?after=${before}`);
  for (let i = 0; again.res.status === 503 && i < 50; i++) {
    await new Promise((r) => setTimeout(r, 20));
    again = await open(cookie, `?after=${before}`);
  }
  assert.equal(again.res.status, 200);
  await until(() => again.text().includes('data: "g-01"') && again.text().includes('data: "a-01"'));
  assert.match(again.text(), /^id: \d+$/m, 'the stream names its position, for Last-Event-ID on reconnect');
  // The daemon closing ends the open streams (they do not hold the shutdown).
  const started = Date.now();
  await d.close();
  await Promise.all([admin.done, again.done]);
  assert.ok(Date.now() - started < 5000, `closed in ${Date.now() - started} ms with streams open`);
});
