// Bad input is the client's: requests that once gave a 500 with a stack trace (a `%` in a path
// parameter, an unknown Content-Encoding, 1,500 form fields) and every other body-parser failure
// get a 4xx with a JSON error, on the API and the boot routes alike. Sent as raw bytes over a
// real socket, exactly as an attacker on the network would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { startTestDaemon, type TestDaemon } from '../lib/daemon.js';

let d: TestDaemon;
let port = 0;
before(async () => { d = await startTestDaemon(); port = d.daemon.httpAddress().port; });
after(async () => { await d.close(); });

interface Raw { status: number; headers: string; body: string }

/** One request as raw bytes on a fresh connection; the answer read to the connection's end. */
function raw(head: string, body: Buffer | string = ''): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [headers = '', rest = ''] = text.split('\r\n\r\n', 2) as [string?, string?];
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1] ?? 0), headers, body: rest });
    });
    const b = typeof body === 'string' ? Buffer.from(body) : body;
    // Written, not ended: a half-closed request may be dropped rather than answered.
    sock.write(Buffer.concat([Buffer.from(`${head}\r\nHost: x\r\nConnection: close\r\nContent-Length: ${b.length}\r\n\r\n`), b]));
  });
}

const auth = () => `Authorization: Bearer ${d.tokens.admin}`;
const fields = (n: number) => Array.from({ length: n }, (_, i) => `f${i}=${i}`).join('&');

function assertClientError(r: Raw, status: number, code: string, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.body.slice(0, 300)}`);
  assert.match(r.headers, /content-type: application\/json/i, what);
  const body = JSON.parse(/^[0-9a-f]+\r\n/.test(r.body) ? r.body.replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, '') : r.body) as { error: { code: string; message: string } };
  assert.equal(body.error.code, code, what);
  assert.doesNotMatch(r.body, /\n\s+at |node_modules|\.js:\d+/, `${what}: no stack trace`);
}

test('`%` alone in a path parameter: 400, on the API and the boot routes', async () => {
  assertClientError(await raw(`GET /api/v1/machines/% HTTP/1.1\r\n${auth()}`), 400, 'BAD_REQUEST', 'GET /api/v1/machines/%');
  assertClientError(await raw(`GET /api/v1/machines/%E0%A4%A/operations HTTP/1.1\r\n${auth()}`), 400, 'BAD_REQUEST', 'broken UTF-8 escape');
  assertClientError(await raw(`POST /api/v1/machines/%/actions/inspect HTTP/1.1\r\n${auth()}\r\nContent-Type: application/json`, '{}'), 400, 'BAD_REQUEST', 'POST …/%/actions');
  for (const path of ['/boot/%', '/boot/%.ipxe', '/boot/%.sha256', '/boot/a%2', '/v1/agent/%/next', '/v1/nocloud/%/user-data', '/v1/answer/%', '/v1/phone-home/%', '/v1/installer/%/started', '/v1/installer/x/%']) {
    const r = await raw(`GET ${path} HTTP/1.1`);
    assert.ok(r.status >= 400 && r.status < 500, `${path}: ${r.status}`);
    assert.doesNotMatch(r.body, /\n\s+at |node_modules/, `${path}: no stack trace`);
  }
});

test('an unknown Content-Encoding or charset: 415', async () => {
  const json = (extra: string) => `POST /api/v1/tokens HTTP/1.1\r\n${auth()}\r\nContent-Type: application/json${extra}`;
  assertClientError(await raw(json('\r\nContent-Encoding: x-snappy'), '{}'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Encoding x-snappy');
  assertClientError(await raw(json('; charset=x-martian'), '{}'), 415, 'UNSUPPORTED_MEDIA_TYPE', 'charset x-martian');
  const form = 'POST /v1/agent/no-such-token/report HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Encoding: compress';
  const r = await raw(form, 'step=inspect');
  assert.ok([403, 404, 415].includes(r.status), `agent form with Content-Encoding compress: ${r.status} ${r.body}`);
  assert.doesNotMatch(r.body, /\n\s+at |node_modules/);
  // A gzip body that is not gzip: the client's error too.
  const bad = await raw(json('\r\nContent-Encoding: gzip'), 'not gzip at all');
  assert.ok(bad.status >= 400 && bad.status < 500, `broken gzip: ${bad.status} ${bad.body}`);
  // And a real gzip body still works.
  const ok = await raw(json('\r\nContent-Encoding: gzip'), gzipSync('{"owner":"zipped"}'));
  assert.equal(ok.status, 201, ok.body);
});

test('1,500 fields: 413 for a form, 400 for JSON; too large, truncated or malformed bodies: 4xx', async () => {
  const form = await raw('POST /v1/agent/no-such-token/report HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded', fields(1500));
  assert.ok([403, 404, 413].includes(form.status), `1,500 form fields: ${form.status} ${form.body}`);
  assert.doesNotMatch(form.body, /\n\s+at |node_modules/);
  if (form.status === 413) assertClientError(form, 413, 'TOO_LARGE', '1,500 form fields');
  const many = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`f${i}`, i]));
  const json = `POST /api/v1/allocations HTTP/1.1\r\n${auth()}\r\nContent-Type: application/json`;
  assertClientError(await raw(json, JSON.stringify(many)), 400, 'BAD_REQUEST', '1,500 JSON fields');
  assertClientError(await raw(json, JSON.stringify({ profile: 'x'.repeat(300 * 1024) })), 413, 'TOO_LARGE', '300 KiB JSON');
  assertClientError(await raw(json, '{"profile": '), 400, 'BAD_REQUEST', 'truncated JSON');
  assertClientError(await raw(json, '{"__proto__": {"x": 1}, "profile": 1}'), 400, 'BAD_REQUEST', 'prototype key');
});

test('nothing above reached the 500 path', async () => {
  const metrics = await (await fetch(`${d.url}/metrics`)).text();
  assert.doesNotMatch(metrics, /rackhand_http_requests_total\{[^}]*status="5\d\d"/, 'no 5xx was counted');
});
