// The malformed corpus (tests/fixtures/tftp/malformed.ts) fired from a raw UDP socket in the
// client namespace at the server in the other: each packet is dropped or answered with the
// expected ERROR, each is counted under its reason, and a good client is served afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { decode, TftpDecodeError } from '../../daemon/tftp/packet.js';
import { MALFORMED } from '../fixtures/tftp/malformed.js';
import { RAW_SENDER, REPO, setup, sha256File, type Bench } from './tftp-harness.js';
import { tryExec } from '../lib/netns.js';

let b: Bench;
before(async () => { b = await setup('tftpml', { 'good.bin': 1 << 20 }); });
after(async () => { await b?.close(); });

/** The reason the server counts for a packet: its decode error, or what it does with it. */
function expectedReason(packet: Buffer, reason: string): string {
  if (reason !== 'decode:*') return reason;
  try {
    const p = decode(packet);
    if (p.op === 'ERROR') return 'ignored';
    if (p.op === 'DATA' || p.op === 'ACK' || p.op === 'OACK') return 'unexpected_opcode';
    return `request:${p.op}`;
  } catch (err) {
    return err instanceof TftpDecodeError ? err.code : 'undecodable';
  }
}

test('every malformed packet is dropped or refused, and counted', async () => {
  assert.ok(MALFORMED.length >= 25, `${MALFORMED.length} cases`);
  const before = await b.server.stats();
  const r = await tryExec(b.link.client, process.execPath,
    ['--import', `${REPO}node_modules/tsx/dist/esm/index.mjs`, RAW_SENDER, b.link.serverAddress, '69', ...MALFORMED.map((c) => c.packet.toString('hex'))]);
  assert.equal(r.code, 0, r.stderr);
  const replies = JSON.parse(r.stdout) as (string | null)[];
  assert.equal(replies.length, MALFORMED.length);
  const expected: Record<string, number> = { ...before.drops };
  MALFORMED.forEach((c, i) => {
    const reason = expectedReason(c.packet, c.reason);
    assert.ok(!reason.startsWith('request:'), `${c.name} is a valid request; pick another seed`);
    if (reason !== 'ignored') expected[reason] = (expected[reason] ?? 0) + 1;
    const reply = replies[i] ? decode(Buffer.from(replies[i]!, 'hex')) : undefined;
    if (c.reply === undefined) {
      assert.equal(reply, undefined, `${c.name}: expected silence, got ${JSON.stringify(reply)}`);
    } else {
      assert.ok(reply?.op === 'ERROR' && reply.code === c.reply, `${c.name}: expected ERROR ${c.reply}, got ${JSON.stringify(reply)}`);
    }
  });
  const after = await b.server.stats();
  assert.deepEqual(after.drops, expected);
  assert.equal(after.active, 0);
  assert.deepEqual(after.transfers, {}, 'no malformed packet started a transfer');
});

test('the server still serves a good client afterwards', async () => {
  const out = path.join(b.fixture.out, 'good.bin');
  const r = await tryExec(b.link.client, 'curl', ['-sS', '--tftp-blksize', '1468', '-o', out, `tftp://${b.link.serverAddress}/good.bin`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await sha256File(out), b.fixture.hashes['good.bin']);
  assert.equal((await b.server.stats()).transfers.ok, 1);
});
