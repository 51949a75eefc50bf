// Images leave by sendfile(2) (daemon/native/sendfile.c), and the edges of that are safe: two
// responses in turn on one kept-alive connection, a client that hangs up mid-file (no descriptor
// leaks, the daemon serves on), a slow client beside a fast one (neither waits on the other),
// and RACKHAND_SENDFILE=0 falling back to user space with the same bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO, inventoryCopy, startTestDaemon, type TestDaemon } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';
import { zeroCopyAvailable, zeroCopyUnavailable } from '../../daemon/http/zero-copy.js';

const run = promisify(execFile);
const SIZE = 64 << 20;
let d: TestDaemon;
let image: Buffer;
let inventory = '';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

before(async () => {
  inventory = inventoryCopy();
  const images = join(dirname(inventory), 'boot-images', 'images');
  mkdirSync(images, { recursive: true });
  image = randomBytes(SIZE);
  writeFileSync(join(images, 'big.raw'), image);
  d = await startTestDaemon({ inventoryFile: inventory });
});
after(async () => { await d.close(); });

/**
 * Descriptors a transfer holds: sockets and the image. Not every descriptor: the store's background
 * checkpointer opens its own connection (and WAL) whenever its timer first fires, which on a slow
 * host can fall inside the test and read as a leak.
 */
const openFds = () => readdirSync('/proc/self/fd').filter((fd) => {
  try {
    const target = readlinkSync(`/proc/self/fd/${fd}`);
    return target.startsWith('socket:') || target.endsWith('big.raw');
  } catch {
    return false; // closed between the listing and the look (the listing's own descriptor among them)
  }
}).length;
async function settle(baseline: number): Promise<number> {
  for (let i = 0; i < 50 && openFds() > baseline; i++) await new Promise((r) => setTimeout(r, 100));
  return openFds();
}

test('the addon is built and in use (make build)', () => {
  assert.ok(zeroCopyAvailable(), `zero-copy is off: ${zeroCopyUnavailable}`);
});

test('two responses in turn on one kept-alive connection: a range, then the whole file', async () => {
  const dir = tempDir('zc');
  const url = `${d.url}/boot/images/big.raw`;
  const { stdout } = await run('curl', ['-sS', '-r', '1000-2000999', '-o', join(dir, 'part'), '-w', '%{http_code} %{num_connects}\n', url, '--next', '-sS', '-o', join(dir, 'whole'), '-w', '%{http_code} %{num_connects}\n', url]);
  assert.deepEqual(stdout.trim().split('\n'), ['206 1', '200 0'], 'the second transfer reused the connection');
  assert.equal(sha(readFileSync(join(dir, 'part'))), sha(image.subarray(1000, 2001000)));
  assert.equal(sha(readFileSync(join(dir, 'whole'))), sha(image));
});

test('a client that hangs up mid-file: no descriptor left behind, the daemon serves on', async () => {
  const baseline = openFds();
  await new Promise<void>((resolve, reject) => {
    const req = get(`${d.url}/boot/images/big.raw`, (res) => {
      let got = 0;
      res.on('data', (chunk: Buffer) => { got += chunk.length; if (got > (1 << 20)) req.destroy(); });
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.on('close', () => resolve());
    setTimeout(() => reject(new Error('no close')), 10_000);
  });
  assert.equal(await settle(baseline), baseline, 'the transfer\'s duplicates of the socket and the file are closed');
  const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `${d.url}/boot/images/big.raw`]);
  assert.equal(stdout, `200 ${SIZE}`);
});

test('a slow client does not hold up a fast one', async () => {
  const baseline = openFds();
  const slow = spawn('curl', ['-sS', '--limit-rate', '512K', '-o', '/dev/null', `${d.url}/boot/images/big.raw`]);
  await new Promise((r) => setTimeout(r, 500));
  const started = performance.now();
  const fast = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `${d.url}/boot/images/big.raw`]);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(fast.stdout, `200 ${SIZE}`);
  assert.equal(slow.exitCode, null, 'the slow download (128 s at its rate) is still going');
  // Generous: the fast one takes well under a second alone; the slow one would need 2 minutes.
  assert.ok(seconds < 30, `the fast download took ${seconds.toFixed(1)} s`);
  slow.kill('SIGKILL');
  await new Promise((r) => slow.once('exit', r));
  assert.equal(await settle(baseline), baseline, 'the slow transfer was cancelled and its descriptors closed');
});

test('RACKHAND_SENDFILE=0: streamed through user space, same bytes, ranges and all', async () => {
  const state = tempDir('zc-off');
  const daemon = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'serve', '--inventory', inventory, '--state-dir', state,
    '--listen', '127.0.0.1', '--port', '0', '--http-only', '--no-power'], { env: { ...process.env, RACKHAND_SENDFILE: '0' }, cwd: REPO });
  try {
    let log = '';
    const port = await new Promise<number>((resolve, reject) => {
      daemon.stdout!.on('data', (b: Buffer) => {
        log += b;
        const m = /HTTP listening on [\d.]+:(\d+)/.exec(log);
        if (m) resolve(Number(m[1]));
      });
      daemon.once('exit', (code) => reject(new Error(`exited ${code}: ${log}`)));
    });
    assert.match(log, /images are streamed through user space: RACKHAND_SENDFILE=0 turned it off/);
    const url = `http://127.0.0.1:${port}/boot/images/big.raw`;
    const part = await run('curl', ['-sS', '-r', '-4096', url], { encoding: 'buffer' });
    assert.ok((part.stdout as unknown as Buffer).equals(image.subarray(SIZE - 4096)));
    const whole = await run('curl', ['-sS', url], { encoding: 'buffer', maxBuffer: SIZE + 1024 });
    assert.equal(sha(whole.stdout as unknown as Buffer), sha(image));
  } finally {
    daemon.kill('SIGTERM');
  }
});
