// HTTP /boot serves only what boot needs, under TFTP's path rules. A real daemon on a real port;
// curl plays a machine on the provisioning network asking for what it should not have: build
// scripts and the .deb cache beside the images, dotfiles, symlinks out of the images directory,
// `..` in every spelling, and the digests of all of those (a digest of a secret is an oracle).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { inventoryCopy, startTestDaemon, type TestDaemon } from '../lib/daemon.js';

const run = promisify(execFile);
let d: TestDaemon;
let root = '';
let outside = '';
const files = new Map<string, Buffer>();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

before(async () => {
  const inv = inventoryCopy();
  root = join(dirname(inv), 'boot-images');
  outside = dirname(inv);
  const put = (rel: string, data: Buffer | string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    const b = Buffer.from(data);
    writeFileSync(join(root, rel), b);
    files.set(rel, b);
  };
  // What boot needs.
  put('undionly.kpxe', randomBytes(70_000));
  put('ipxe.efi', randomBytes(300_000));
  put('agent/vmlinuz', randomBytes(2 << 20));
  put('agent/initrd.img', randomBytes(1 << 20));
  put('images/test.raw', randomBytes(3 << 20));
  put('images/test.raw.digest', `${sha(files.get('images/test.raw')!)}  test.raw\n`);
  put('installers/debian/linux', randomBytes(100_000));
  put('vendor/rocky/vmlinuz', randomBytes(50_000)); // outside the served folders, but a profile names it
  // What it does not.
  put('build-agent.sh', '#!/bin/sh\necho build\n');
  put('lib.sh', 'fetch_deb() { :; }\n');
  put('cache/busybox-static_1.36_amd64.deb', randomBytes(10_000));
  put('notes.txt', 'operator notes\n');
  put('.env', 'SECRET=1\n');
  put('images/.hidden.raw', 'hidden\n');
  put('agent/.git/config', '[core]\n');
  writeFileSync(join(dirname(inv), 'secret.txt'), 'outside the images directory\n');
  symlinkSync('../../secret.txt', join(root, 'images', 'escape.raw'));
  symlinkSync('/etc/passwd', join(root, 'images', 'passwd.raw'));
  symlinkSync('/etc', join(root, 'images', 'etc'));
  symlinkSync('test.raw', join(root, 'images', 'alias.raw')); // inside the root: fine
  writeFileSync(inv, readFileSync(inv, 'utf8')
    .replace('url: images/lab.raw.gz', 'url: images/test.raw')
    .replace(/sha256_file: \S+/, 'sha256_file: images/test.raw.digest')
    .replace('kernel: installers/rocky/vmlinuz', 'kernel: vendor/rocky/vmlinuz'));
  d = await startTestDaemon({ inventoryFile: inv });
});
after(async () => { await d.close(); });

/** curl as-is (no client-side `..` folding): status code and body. */
async function curl(path: string, ...args: string[]): Promise<{ code: number; body: Buffer }> {
  const out = await run('curl', ['-sS', '--path-as-is', '-o', '-', '-w', '\n%{http_code}', ...args, d.url + path], { encoding: 'buffer', maxBuffer: 16 << 20 });
  const buf = out.stdout as unknown as Buffer;
  const nl = buf.lastIndexOf(0x0a);
  return { code: Number(buf.subarray(nl + 1).toString()), body: buf.subarray(0, nl) };
}

test('build scripts, the .deb cache and other files beside the images are not served, nor their digests', async () => {
  for (const p of ['build-agent.sh', 'lib.sh', 'cache/busybox-static_1.36_amd64.deb', 'notes.txt', 'fetch-ipxe.sh']) {
    assert.equal((await curl(`/boot/${p}`)).code, 404, p);
    assert.equal((await curl(`/boot/${p}.sha256`)).code, 404, `${p}.sha256`);
    assert.equal((await curl(`/boot/${p}`, '-I')).code, 404, `HEAD ${p}`);
  }
});

test('dotfiles and dot-directories are not served, even under a served folder', async () => {
  for (const p of ['.env', 'images/.hidden.raw', 'agent/.git/config', '%2eenv', 'images/%2Ehidden.raw', '.env.sha256', 'images/.hidden.raw.sha256']) {
    assert.equal((await curl(`/boot/${p}`)).code, 404, p);
  }
});

test('symlinks out of the images directory are refused; one inside it is followed', async () => {
  for (const p of ['images/escape.raw', 'images/passwd.raw', 'images/etc/passwd', 'images/etc/hostname']) {
    const r = await curl(`/boot/${p}`);
    assert.equal(r.code, 404, p);
    assert.doesNotMatch(r.body.toString('latin1'), /outside the images|root:/, p);
    assert.equal((await curl(`/boot/${p}.sha256`)).code, 404, `${p}.sha256`);
  }
  const alias = await curl('/boot/images/alias.raw', '-r', '0-99');
  assert.equal(alias.code, 206);
  assert.ok(alias.body.equals(files.get('images/test.raw')!.subarray(0, 100)));
});

test('`..` in every spelling never leaves the images directory', async () => {
  const tries = [
    '/boot/../secret.txt', '/boot/images/../../secret.txt', '/boot/%2e%2e/secret.txt', '/boot/images/%2e%2e/%2e%2e/secret.txt',
    '/boot/%2E%2E%2Fsecret.txt', '/boot/images/..%2f..%2fsecret.txt', '/boot/images%2f..%2f..%2fsecret.txt',
    '/boot/agent/../build-agent.sh', '/boot/agent/%2e%2e/lib.sh', '/boot/images/..%2F..%2Finventory.yaml',
    '/boot/%252e%252e/secret.txt', '/boot/images/test.raw%00.sha256', '/boot/%00', '/boot/%', '/boot/%c0%ae%c0%ae/secret.txt',
  ];
  for (const p of tries) {
    const r = await curl(p);
    assert.equal(r.code, 404, p);
    assert.doesNotMatch(r.body.toString('latin1'), /outside the images|SECRET|echo build/, p);
  }
});

test('the loaders, the agent, a profile\'s image and installer files are served with Range, HEAD and ETag', async () => {
  for (const p of ['undionly.kpxe', 'ipxe.efi', 'agent/vmlinuz', 'agent/initrd.img', 'images/test.raw', 'installers/debian/linux', 'vendor/rocky/vmlinuz', 'images/test.raw.digest']) {
    const whole = await curl(`/boot/${p}`);
    assert.equal(whole.code, 200, p);
    assert.ok(whole.body.equals(files.get(p)!), `${p}: the whole file`);
  }
  const kernel = files.get('agent/vmlinuz')!;
  const part = await curl('/boot/agent/vmlinuz', '-r', '1000-1999');
  assert.equal(part.code, 206);
  assert.ok(part.body.equals(kernel.subarray(1000, 2000)));
  const head = (await run('curl', ['-sSI', `${d.url}/boot/images/test.raw`])).stdout;
  assert.match(head, /^HTTP\/1\.1 200/);
  assert.match(head, new RegExp(`content-length: ${files.get('images/test.raw')!.length}`, 'i'));
  const etag = /^etag: (.+?)\r?$/im.exec(head)?.[1];
  assert.ok(etag, 'an ETag');
  const ifRange = await curl('/boot/images/test.raw', '-r', '0-9', '-H', `If-Range: ${etag}`);
  assert.equal(ifRange.code, 206, 'If-Range with the current ETag keeps the range');
  assert.equal((await curl('/boot/images/test.raw', '-H', `If-None-Match: ${etag}`)).code, 304);
});

test('digests of served files are still published beside them', async () => {
  for (const p of ['agent/vmlinuz', 'images/test.raw', 'ipxe.efi', 'vendor/rocky/vmlinuz']) {
    const r = await curl(`/boot/${p}.sha256`);
    assert.equal(r.code, 200, p);
    assert.equal(r.body.toString(), `${sha(files.get(p)!)}  ${p.split('/').pop()}\n`);
  }
});

test('each request resolves afresh: a file or folder swapped for a link out is refused, a rebuilt image served whole', async () => {
  const get = async (p: string, ...args: string[]) => curl(`/boot/${p}`, ...args);
  // Served once (and so resolved once) before each change.
  writeFileSync(join(root, 'installers/swap.img'), 'the installer image\n');
  assert.equal((await get('installers/swap.img')).code, 200);
  // The file becomes a link out of the images directory.
  writeFileSync(join(outside, 'outside.img'), 'SECRET outside\n');
  renameSync(join(root, 'installers/swap.img'), join(root, 'installers/swap.old'));
  symlinkSync(join(outside, 'outside.img'), join(root, 'installers/swap.img'));
  const swapped = await get('installers/swap.img');
  assert.equal(swapped.code, 404);
  assert.doesNotMatch(swapped.body.toString('latin1'), /SECRET/);
  assert.equal((await get('installers/swap.img.sha256')).code, 404);

  // A served folder is moved out and a link to it left in its place: the same files, outside now.
  mkdirSync(join(root, 'installers/moved'), { recursive: true });
  writeFileSync(join(root, 'installers/moved/linux'), 'kernel\n');
  assert.equal((await get('installers/moved/linux')).code, 200);
  renameSync(join(root, 'installers/moved'), join(outside, 'moved'));
  symlinkSync(join(outside, 'moved'), join(root, 'installers/moved'));
  assert.equal((await get('installers/moved/linux')).code, 404);

  // Rebuilt in place (same inode, new length), then replaced by a rename: each time the new bytes, whole.
  const image = join(root, 'images/rebuilt.raw');
  writeFileSync(image, randomBytes(100_000));
  assert.equal((await get('images/rebuilt.raw')).body.length, 100_000);
  const rebuilt = randomBytes(250_000);
  writeFileSync(image, rebuilt);
  const fresh = await get('images/rebuilt.raw');
  assert.equal(fresh.code, 200);
  assert.ok(fresh.body.equals(rebuilt), 'rebuilt in place: the new image, whole');
  const replaced = randomBytes(50_000);
  writeFileSync(`${image}.new`, replaced);
  renameSync(`${image}.new`, image);
  assert.ok((await get('images/rebuilt.raw')).body.equals(replaced), 'replaced by a rename: the new image');
  const part = await get('images/rebuilt.raw', '-r', '100-199');
  assert.equal(part.code, 206);
  assert.ok(part.body.equals(replaced.subarray(100, 200)));
  assert.equal((await get('images/rebuilt.raw.sha256')).body.toString(), `${sha(replaced)}  rebuilt.raw\n`);
});
