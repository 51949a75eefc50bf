// Path resolution inside a root: traversal, absolute paths, NUL, non-UTF-8, symlinks out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, realpathSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { directoryHandler, requestSegments } from '../../daemon/tftp/root.js';
import { bufferFile, firstOf, netasciiFile, TftpRefusal, type TftpFile } from '../../daemon/tftp/files.js';

let base = '';
let root = '';
const client = { address: '10.20.0.50', port: 2000 };

before(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'rh-tftp-root-'));
  root = path.join(base, 'root');
  mkdirSync(path.join(root, 'pxelinux.cfg'), { recursive: true });
  mkdirSync(path.join(root, 'dir'));
  writeFileSync(path.join(root, 'undionly.kpxe'), 'loader');
  writeFileSync(path.join(root, 'pxelinux.cfg', 'default'), 'menu\n');
  writeFileSync(path.join(root, 'é.txt'), 'utf8 name');
  writeFileSync(path.join(base, 'secret'), 'outside');
  writeFileSync(path.join(root, '.env'), 'SECRET=1\n');
  mkdirSync(path.join(root, 'dir', '.git'));
  writeFileSync(path.join(root, 'dir', '.git', 'config'), '[core]\n');
  symlinkSync('../secret', path.join(root, 'escape'));
  symlinkSync('/etc', path.join(root, 'etcdir'));
  symlinkSync('undionly.kpxe', path.join(root, 'inside-link'));
  symlinkSync('loop', path.join(root, 'loop'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
});
after(() => rmSync(base, { recursive: true, force: true }));

async function readAll(file: TftpFile): Promise<string> {
  const buf = Buffer.alloc(file.size);
  const n = await file.read(buf, 0, file.size, 0);
  await file.close();
  return buf.subarray(0, n).toString();
}

async function refusal(p: Promise<unknown>): Promise<TftpRefusal> {
  try { await p; } catch (err) { if (err instanceof TftpRefusal) return err; throw err; }
  assert.fail('expected a refusal');
}

test('segments: leading slashes mean the root, dots vanish', () => {
  assert.deepEqual(requestSegments('/pxelinux.0'), ['pxelinux.0']);
  assert.deepEqual(requestSegments('//a/./b//c'), ['a', 'b', 'c']);
  assert.deepEqual(requestSegments('boot\\x86\\wdsnbp.com'), ['boot\\x86\\wdsnbp.com']);
});

test('served files', async () => {
  const h = directoryHandler(root);
  assert.equal(await readAll((await h('undionly.kpxe', client))!), 'loader');
  assert.equal(await readAll((await h('/undionly.kpxe', client))!), 'loader', 'leading slash is root-relative');
  assert.equal(await readAll((await h('pxelinux.cfg/default', client))!), 'menu\n');
  assert.equal(await readAll((await h('inside-link', client))!), 'loader', 'symlink inside the root is fine');
  assert.equal(await readAll((await h(Buffer.from('é.txt').toString('latin1'), client))!), 'utf8 name', 'UTF-8 names');
});

test('not found', async () => {
  const h = directoryHandler(root);
  assert.equal(await h('missing', client), undefined);
  assert.equal(await h('/etc/passwd', client), undefined, 'absolute path is looked up under the root');
  assert.equal(await h('undionly.kpxe/x', client), undefined, 'ENOTDIR');
  assert.equal(await h('loop', client), undefined, 'symlink loop');
  assert.equal((await refusal(h('dir', client))).code, 1, 'a directory is not a file');
  assert.equal((await refusal(h('/', client))).code, 1, 'the root itself');
  assert.equal((await refusal(h('fifo', client))).code, 1, 'a FIFO is refused without blocking');
});

test('refused with access violation (2)', async () => {
  const h = directoryHandler(root);
  for (const p of ['../secret', 'a/../../secret', '..', 'pxelinux.cfg/../undionly.kpxe', '/../secret', 'x\0y',
    'escape', 'etcdir/passwd', '.env', '/dir/.git/config', Buffer.from([0xff, 0xfe]).toString('latin1')]) {
    const r = await refusal(h(p, client));
    assert.equal(r.code, 2, `${JSON.stringify(p)}: ${r.message} (${r.detail})`);
    assert.equal(r.message, 'access violation', 'the client learns nothing about the layout');
    assert.ok(r.detail, 'the log learns why');
  }
});

test('a missing root is retried, not cached', async () => {
  const later = path.join(base, 'later');
  const h = directoryHandler(later);
  await assert.rejects(h('x', client));
  mkdirSync(later);
  writeFileSync(path.join(later, 'x'), 'now');
  assert.equal(await readAll((await h('x', client))!), 'now');
  assert.equal(realpathSync(later), later);
});

test('firstOf composes generated files over a directory', async () => {
  const generated = async (p: string) => (p === 'boot.ipxe' ? bufferFile(Buffer.from('#!ipxe\n')) : undefined);
  const h = firstOf(generated, directoryHandler(root));
  assert.equal(await readAll((await h('boot.ipxe', client))!), '#!ipxe\n');
  assert.equal(await readAll((await h('undionly.kpxe', client))!), 'loader');
  assert.equal(await h('nothing', client), undefined);
  await assert.rejects(h('../secret', client), TftpRefusal);
});

test('netascii converts LF and bare CR, and refuses big files', async () => {
  const f = await netasciiFile(bufferFile(Buffer.from('a\nb\rc\r\n')), 100);
  assert.equal(await readAll(f), 'a\r\nb\r\0c\r\0\r\n');
  const r = await refusal(netasciiFile(bufferFile(Buffer.alloc(200)), 100));
  assert.equal(r.code, 4);
});

test('small files are read once per version and shared; a rewrite, a replacement or a big file is read again', async () => {
  const { ContentsCache } = await import('../../daemon/tftp/contents-cache.js');
  const cache = new ContentsCache(64, 32);
  const handler = directoryHandler(root, cache);
  const file = path.join(root, 'cached.bin');
  writeFileSync(file, 'first version');
  const a = (await handler('cached.bin', client))!;
  const b = (await handler('cached.bin', client))!;
  assert.equal(a.contents!.toString(), 'first version');
  assert.equal(a.contents, b.contents, 'one buffer for both transfers');
  await new Promise((r) => setTimeout(r, 20));
  writeFileSync(file, 'second, longer'); // rewritten in place: new size and times
  assert.equal((await handler('cached.bin', client))!.contents!.toString(), 'second, longer');
  writeFileSync(file, 'x'.repeat(40)); // over the cache's 32-byte file limit: read as it goes
  const big = (await handler('cached.bin', client))!;
  assert.equal(big.contents, undefined);
  const buf = Buffer.alloc(40);
  assert.equal(await big.read(buf, 0, 40, 0), 40);
  await big.close();
  assert.ok(cache.size <= 64, `cache holds ${cache.size} bytes`);
  rmSync(file);
});
