// Option negotiation (RFC 2347/2348/2349/7440), table-driven.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { negotiate, TftpOptionError, type NegotiationLimits } from '../../daemon/tftp/options.js';
import type { TftpOption } from '../../daemon/tftp/packet.js';

const limits: NegotiationLimits = { maxBlockSize: 1468, maxWindowSize: 64, maxWindowBytes: 1 << 20 };
const opts = (...pairs: [string, string][]): TftpOption[] => pairs.map(([name, value]) => ({ name, value }));

test('accepted options', () => {
  const cases: { name: string; options: TftpOption[]; blockSize: number; windowSize: number; timeoutSec?: number; oack: string }[] = [
    { name: 'none: RFC 1350 defaults, no OACK', options: [], blockSize: 512, windowSize: 1, oack: '' },
    { name: 'curl', options: opts(['tsize', '0'], ['blksize', '1468'], ['timeout', '6']), blockSize: 1468, windowSize: 1, timeoutSec: 6, oack: 'tsize=1000 blksize=1468 timeout=6' },
    { name: 'blksize above the MTU cap is answered smaller', options: opts(['blksize', '9000']), blockSize: 1468, windowSize: 1, oack: 'blksize=1468' },
    { name: 'blksize above RFC max is capped', options: opts(['blksize', '99999999']), blockSize: 1468, windowSize: 1, oack: 'blksize=1468' },
    { name: 'blksize 8, the RFC minimum', options: opts(['blksize', '8']), blockSize: 8, windowSize: 1, oack: 'blksize=8' },
    { name: 'names are case-insensitive, spelling echoed', options: opts(['BLKSIZE', '1024'], ['TSize', '0']), blockSize: 1024, windowSize: 1, oack: 'BLKSIZE=1024 TSize=1000' },
    { name: 'windowsize capped to the server max', options: opts(['windowsize', '65535']), blockSize: 512, windowSize: 64, oack: 'windowsize=64' },
    { name: 'windowsize 1', options: opts(['windowsize', '1']), blockSize: 512, windowSize: 1, oack: 'windowsize=1' },
    { name: 'unknown options ignored', options: opts(['multicast', ''], ['x-foo', 'bar'], ['blksize', '512']), blockSize: 512, windowSize: 1, oack: 'blksize=512' },
    { name: 'timeout 1 and 255 echoed', options: opts(['timeout', '255']), blockSize: 512, windowSize: 1, timeoutSec: 255, oack: 'timeout=255' },
    { name: 'tsize with any number answers the size', options: opts(['tsize', '12345']), blockSize: 512, windowSize: 1, oack: 'tsize=1000' },
  ];
  for (const c of cases) {
    const n = negotiate(c.options, limits, 1000);
    assert.equal(n.blockSize, c.blockSize, c.name);
    assert.equal(n.windowSize, c.windowSize, c.name);
    assert.equal(n.timeoutSec, c.timeoutSec, c.name);
    assert.equal(n.oack.map((o) => `${o.name}=${o.value}`).join(' '), c.oack, c.name);
  }
});

test('the window shrinks to keep blocks × window under maxWindowBytes', () => {
  const n = negotiate(opts(['blksize', '65464'], ['windowsize', '64']), { maxBlockSize: 65464, maxWindowSize: 64, maxWindowBytes: 1 << 20 }, 0);
  assert.equal(n.blockSize, 65464);
  assert.equal(n.windowSize, 16);
  assert.deepEqual(n.oack.map((o) => o.value), ['65464', '16']);
});

test('refused values name the option and why', () => {
  const bad: [string, string, RegExp][] = [
    ['blksize', '7', /below 8/], ['blksize', 'abc', /not a decimal/], ['blksize', '-1', /not a decimal/],
    ['blksize', '1e3', /not a decimal/], ['blksize', '', /not a decimal/], ['timeout', '0', /outside 1\.\.255/],
    ['timeout', '256', /outside 1\.\.255/], ['windowsize', '0', /below 1/], ['tsize', 'x', /not a decimal/],
    ['blksize', '99999999999999999', /not a decimal/],
  ];
  for (const [name, value, re] of bad) {
    assert.throws(() => negotiate(opts([name, value]), limits, 0), (err: unknown) => {
      assert.ok(err instanceof TftpOptionError);
      assert.match(err.message, new RegExp(`^option ${name}=`));
      assert.match(err.message, re);
      return true;
    }, `${name}=${value}`);
  }
});
