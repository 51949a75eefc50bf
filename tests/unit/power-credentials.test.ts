import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPassword } from '../../daemon/power/credentials.js';
import { PowerError } from '../../daemon/power/errors.js';
import { tempDir } from '../lib/tmp.js';

const fail = (p: Promise<unknown>) => p.then(() => assert.fail('should fail'), (e: unknown) => e as PowerError);

test('password_env: the value; unset or empty → CONFIG naming the variable', async () => {
  assert.equal(await loadPassword('m', { password_env: 'X' }, { env: { X: 's3cret' } }), 's3cret');
  for (const env of [{}, { X: '' }]) {
    const e = await fail(loadPassword('m', { password_env: 'X' }, { env }));
    assert.equal(e.code, 'CONFIG');
    assert.match(e.message, /environment variable X/);
  }
});

test('password_file: read at call time (rotation needs no restart), one trailing newline dropped, relative to baseDir', async () => {
  const dir = tempDir('creds');
  writeFileSync(join(dir, 'bmc.pw'), 'first-pw\n');
  assert.equal(await loadPassword('m', { password_file: 'bmc.pw' }, { baseDir: dir }), 'first-pw');
  writeFileSync(join(dir, 'bmc.pw'), 'second pw \r\n');
  assert.equal(await loadPassword('m', { password_file: join(dir, 'bmc.pw') }), 'second pw ');
});

test('password_file missing, empty or unreadable → CONFIG naming the file, never a value', async () => {
  const dir = tempDir('creds');
  const missing = await fail(loadPassword('m', { password_file: 'nope.pw' }, { baseDir: dir }));
  assert.equal(missing.code, 'CONFIG');
  assert.match(missing.message, new RegExp(`${join(dir, 'nope.pw')} does not exist`));
  writeFileSync(join(dir, 'empty.pw'), '\n');
  assert.match((await fail(loadPassword('m', { password_file: 'empty.pw' }, { baseDir: dir }))).message, /is empty/);
  writeFileSync(join(dir, 'dir-not-file'), 'x');
  chmodSync(join(dir, 'dir-not-file'), 0o000);
  // root reads mode 000 files, so this only shows the message where the test runs unprivileged.
  if (process.getuid?.() !== 0) assert.match((await fail(loadPassword('m', { password_file: 'dir-not-file' }, { baseDir: dir }))).message, /not readable/);
});

test('neither or both sources → CONFIG', async () => {
  assert.match((await fail(loadPassword('m', {}))).message, /no password_env or password_file/);
  assert.match((await fail(loadPassword('m', { password_env: 'A', password_file: 'b' }))).message, /not both/);
});

test('PowerError scrubs every secret it is given, in message and JSON', () => {
  const e = new PowerError('BMC_ERROR', 'node-01', 'on', 'BMC said hunter2 twice: hunter2', ['hunter2']);
  assert.ok(!e.message.includes('hunter2'));
  assert.ok(!JSON.stringify(e).includes('hunter2'));
  assert.match(e.message, /^node-01: power on: .*\[BMC_ERROR\]$/);
  assert.equal(e.transient, false);
  assert.equal(new PowerError('TIMEOUT', 'n', 'on', '').transient, true);
});
