// The daemon's shutdown does not wait on HTTP connections that carry no request: one that has
// sent nothing (a browser's preconnect, or anyone on the network), one stopped inside a request
// head, one kept alive after its answer. An answer in flight when closing starts still arrives
// whole, and its connection is closed after it. Before, the first two held close() for 10 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startTestDaemon } from '../lib/daemon.js';

function open(port: number, opened: Socket[]): Promise<{ socket: Socket; closed: Promise<number>; received: () => string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => { text += d; });
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
    socket.once('error', () => undefined);
    opened.push(socket);
    socket.once('connect', () => resolve({ socket, closed, received: () => text }));
    socket.once('error', reject);
  });
}

test('close() drops connections without a request at once and lets an answer in flight finish', async (t) => {
  const d = await startTestDaemon();
  const sockets: Socket[] = [];
  t.after(async () => { for (const s of sockets) s.destroy(); await d.close(); });
  const { port } = d.daemon.httpAddress();
  const silent = await open(port, sockets);
  const partial = await open(port, sockets);
  partial.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  const kept = await open(port, sockets);
  kept.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((r) => setTimeout(r, 200));
  assert.match(kept.received(), /^HTTP\/1\.1 200 /, 'the kept-alive connection was answered');
  // A long-poll held by the daemon: closing answers it (the event feed's close), whole.
  const held = await open(port, sockets);
  held.socket.write(`GET /api/v1/events?after=1000000&wait=20 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${d.tokens.admin}\r\n\r\n`);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(held.received(), '', 'the long-poll is held');

  const started = Date.now();
  await d.close();
  const took = Date.now() - started;
  assert.ok(took < 3000, `the daemon closed in ${took} ms (before: 10 s, held by the quiet connections)`);
  for (const c of [silent, partial, kept, held]) assert.ok(await c.closed - started < 3000, 'each connection closed with the daemon');
  const answer = held.received();
  assert.match(answer, /^HTTP\/1\.1 200 /, 'the held long-poll was answered');
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
  assert.ok(Array.isArray(JSON.parse(body).events), `a whole JSON answer: ${body.slice(0, 200)}`);
});
