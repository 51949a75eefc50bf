// Real TFTP clients against the server in a namespace pair: tftp-hpa (512-byte lock-step,
// which also rolls block numbers past 65535 on 32 MiB), curl with blksize, atftp with RFC 7440
// windows, busybox with blksize. Every download is compared by sha256.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { setup, sha256File, type Bench } from './tftp-harness.js';
import { tryExec } from '../lib/netns.js';

const BIG = 'big.bin';
let b: Bench;

before(async () => { b = await setup('tftpcl', { [BIG]: 32 << 20 }); });
after(async () => { await b?.close(); });

async function fetched(name: string, run: () => Promise<{ code: number; stdout: string; stderr: string }>): Promise<void> {
  const r = await run();
  assert.equal(r.code, 0, `${name}: ${r.stderr}${r.stdout}\n${b.server.logs().slice(-2000)}`);
  assert.equal(await sha256File(path.join(b.fixture.out, name)), b.fixture.hashes[BIG], name);
}

test('the block size cap follows the veth MTU (1500 → 1468)', () => {
  assert.equal(b.server.maxBlockSize, 1468);
});

test('tftp-hpa: 32 MiB in 512-byte lock-step, block numbers rolling over', async () => {
  const out = path.join(b.fixture.out, 'hpa.bin');
  await fetched('hpa.bin', () => tryExec(b.link.client, 'tftp', ['-m', 'binary', b.link.serverAddress, '-c', 'get', BIG, out]));
});

test('curl --tftp-blksize 1468: 32 MiB', async () => {
  const out = path.join(b.fixture.out, 'curl.bin');
  await fetched('curl.bin', () => tryExec(b.link.client, 'curl', ['-sS', '--tftp-blksize', '1468', '-o', out, `tftp://${b.link.serverAddress}/${BIG}`]));
});

test('curl asking for blksize 9000 gets the MTU cap and still downloads intact', async () => {
  const out = path.join(b.fixture.out, 'curl9000.bin');
  await fetched('curl9000.bin', () => tryExec(b.link.client, 'curl', ['-sS', '--tftp-blksize', '9000', '-o', out, `tftp://${b.link.serverAddress}/${BIG}`]));
});

test('atftp with blksize 1468 and windowsize 16: 32 MiB', async () => {
  const out = path.join(b.fixture.out, 'atftp.bin');
  await fetched('atftp.bin', () => tryExec(b.link.client, 'atftp',
    ['--option', 'blksize 1468', '--option', 'windowsize 16', '--option', 'tsize 0', '-g', '-r', BIG, '-l', out, b.link.serverAddress]));
});

test('busybox tftp -b 1468: 32 MiB', async () => {
  const out = path.join(b.fixture.out, 'busybox.bin');
  await fetched('busybox.bin', () => tryExec(b.link.client, 'busybox', ['tftp', '-b', '1468', '-g', '-r', BIG, '-l', out, b.link.serverAddress]));
});

test('tftp-hpa in its default netascii mode gets the text file back unchanged', async () => {
  const out = path.join(b.fixture.out, 'motd.txt');
  const r = await tryExec(b.link.client, 'tftp', [b.link.serverAddress, '-c', 'get', 'motd.txt', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(out, 'utf8'), 'line one\nline two\n');
});

test('every transfer is counted as ok', async () => {
  const stats = await b.server.stats();
  assert.equal(stats.transfers.ok, 6, JSON.stringify(stats));
  assert.equal(stats.active, 0);
  assert.deepEqual(stats.drops, {});
});
