// A client choosing request paths must not choose metric label values: 40k random paths once grew
// /metrics to 11 MB and the daemon's RSS by 130 MB. Thousands of random paths, under every prefix
// the daemon serves and under none, leave /metrics small and its route labels few and templated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestDaemon, type TestDaemon } from '../lib/daemon.js';

let d: TestDaemon;
before(async () => { d = await startTestDaemon(); });
after(async () => { await d.close(); });

const PREFIXES = [
  '/', '/api/v1/', '/api/v1/machines/', '/api/v1/allocations/', '/api/v1/tokens/', '/api/v1/machines/node-01/operations/',
  '/boot/', '/boot/x/', '/v1/agent/', '/v1/nocloud/', '/v1/answer/', '/v1/phone-home/', '/v1/installer/', '/v1/installer/x/', '/metrics/', '/healthz/',
];
const COUNT = 1500;

test(`${COUNT} random paths: /metrics stays small, route labels stay templates`, async () => {
  const before = (await (await fetch(`${d.url}/metrics`)).text()).length;
  const marks: string[] = [];
  for (let i = 0; i < COUNT; i += 25) {
    await Promise.all(Array.from({ length: 25 }, async (_, j) => {
      const mark = `zq${randomBytes(6).toString('hex')}`;
      marks.push(mark);
      const prefix = PREFIXES[(i + j) % PREFIXES.length]!;
      const suffix = (i + j) % 3 === 0 ? `${mark}/next` : (i + j) % 3 === 1 ? `${mark}.ipxe` : mark;
      const res = await fetch(`${d.url}${prefix}${suffix}`, {
        method: (i + j) % 4 === 0 ? 'POST' : 'GET', headers: { authorization: `Bearer ${Math.floor((i + j) / PREFIXES.length) % 2 ? d.tokens.admin : 'rh_nobody'}` },
      });
      await res.arrayBuffer();
    }).map((p) => p.catch((err: Error) => { throw new Error(`${err.message}: ${String((err as { cause?: unknown }).cause)}`); })));
  }
  const text = await (await fetch(`${d.url}/metrics`)).text();
  const routes = new Set([...text.matchAll(/^rackhand_http_requests_total\{[^}]*route="([^"]*)"/gm)].map((m) => m[1]!));
  assert.ok(!marks.some((m) => text.includes(m)), 'no requested path became a label');
  assert.ok(routes.has('unmatched'), [...routes].join(' '));
  assert.ok(routes.size <= 40, `route labels: ${routes.size}: ${[...routes].join(' ')}`);
  for (const r of routes) assert.match(r, /^(unmatched|other|\/boot\/\*|\/[^?]*)$/, r);
  assert.ok(text.length - before < 64 * 1024, `/metrics grew by ${text.length - before} bytes`);
  const series = text.split('\n').filter((l) => l.startsWith('rackhand_http_requests_total{')).length;
  assert.ok(series < 200, `${series} request series`);
});
