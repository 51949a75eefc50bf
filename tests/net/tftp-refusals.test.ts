// Refusals seen by real clients: traversal, an absolute path outside the root, a symlink
// escape, a missing file and a write request, each with its TFTP error code.
// curl's exit codes name the TFTP error: 68 = file not found (1), 69 = permission (2).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { setup, type Bench } from './tftp-harness.js';
import { tryExec } from '../lib/netns.js';

let b: Bench;
before(async () => { b = await setup('tftprf', { 'ok.bin': 4096 }); });
after(async () => { await b?.close(); });

const curl = (file: string) => tryExec(b.link.client, 'curl',
  ['-sS', '--path-as-is', '-o', path.join(b.fixture.out, 'x'), `tftp://${b.link.serverAddress}/${file}`]);
const hpa = (file: string) => tryExec(b.link.client, 'tftp',
  ['-m', 'binary', b.link.serverAddress, '-c', 'get', file, path.join(b.fixture.out, 'y')]);

test('traversal with ../ is an access violation (2)', async () => {
  assert.equal((await curl('../secret')).code, 69, 'curl --path-as-is sends ../secret');
  // curl would normalise "a/../../secret" itself; tftp-hpa sends it as written.
  const r = await hpa('a/../../secret');
  assert.match(r.stdout + r.stderr, /Error code 2: access violation/);
});

test('an absolute path is looked up under the root: /etc/passwd is not found (1)', async () => {
  const r = await hpa('/etc/passwd');
  assert.match(r.stdout + r.stderr, /Error code 1: file not found/);
  assert.equal((await curl('%2Fetc%2Fpasswd')).code, 68);
});

test('a symlink leading out of the root is an access violation (2)', async () => {
  assert.equal((await curl('escape')).code, 69);
  const r = await hpa('escape');
  assert.match(r.stdout + r.stderr, /Error code 2: access violation/);
});

test('a missing file is not found (1); a leading slash still finds files in the root', async () => {
  assert.equal((await curl('missing.bin')).code, 68);
  const r = await hpa('/ok.bin');
  assert.equal(r.stdout + r.stderr, '');
  assert.ok(existsSync(path.join(b.fixture.out, 'y')));
});

test('a write request is refused with access violation (2) and nothing is written', async () => {
  const local = path.join(b.fixture.out, 'upload.bin');
  writeFileSync(local, 'data');
  const r = await tryExec(b.link.client, 'tftp', ['-m', 'binary', b.link.serverAddress, '-c', 'put', local, 'upload.bin']);
  assert.match(r.stdout + r.stderr, /Error code 2: write requests are not accepted/);
  assert.equal(existsSync(path.join(b.fixture.root, 'upload.bin')), false);
});

test('the refusals are counted by result and reason', async () => {
  const s = await b.server.stats();
  assert.equal(s.transfers.access_violation, 4, JSON.stringify(s));
  assert.equal(s.transfers.not_found, 3, JSON.stringify(s));
  assert.equal(s.transfers.ok, 1, JSON.stringify(s));
  assert.equal(s.drops.write_request, 1, JSON.stringify(s));
});
