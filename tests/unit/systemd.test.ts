import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';

const run = promisify(execFile);
const UNIT = join(REPO, 'systemd/rackhand.service');

async function verify(file: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('systemd-analyze', ['verify', file]);
    return { code: 0, output: (stdout + stderr).trim() };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: (e.stdout + e.stderr).trim() };
  }
}

test('systemd-analyze verify accepts the unit without a single warning', async () => {
  // Unknown keys only warn (exit 0), so silence is the bar, checked to be able to fail:
  const dir = tempDir('unit');
  const misspelt = join(dir, 'rackhand.service');
  writeFileSync(misspelt, readFileSync(UNIT, 'utf8').replace('NoNewPrivileges=', 'NoNewPrivilegs='));
  assert.match((await verify(misspelt)).output, /Unknown key 'NoNewPrivilegs'/);
  copyFileSync(UNIT, join(dir, 'ok.service'));
  assert.deepEqual(await verify(join(dir, 'ok.service')), { code: 0, output: '' });
});

test('the unit runs as a dedicated user with only the capabilities DHCP and TFTP need', () => {
  const unit = readFileSync(UNIT, 'utf8');
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1];
  assert.equal(value('User'), 'rackhand');
  assert.equal(value('StateDirectory'), 'rackhand');
  assert.equal(value('CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE CAP_NET_RAW');
  assert.equal(value('AmbientCapabilities'), 'CAP_NET_BIND_SERVICE CAP_NET_RAW');
  assert.equal(value('ProtectSystem'), 'strict');
  assert.equal(value('ProtectHome'), 'yes');
  assert.equal(value('PrivateTmp'), 'yes');
  assert.equal(value('NoNewPrivileges'), 'yes');
  assert.equal(value('Restart'), 'on-failure');
  assert.match(value('ExecReload') ?? '', /kill -HUP \$MAINPID/);
  assert.match(readFileSync(join(REPO, 'systemd/rackhand.sysusers.conf'), 'utf8'), /^u rackhand /m);
});
