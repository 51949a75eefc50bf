// TFTP serves the same files as HTTP /boot (core/boot-exposure.ts) and nothing else beside them:
// a machine on the provisioning network asking for the build scripts, the .deb cache or an
// operator's notes gets "file not found", as if they were absent, while loaders, the agent and
// the files profiles name still come. The daemon's own handler behind a real TFTP server on
// loopback; curl is the client (exit 68 = TFTP error 1, file not found; 69 = access violation).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { inventoryCopy } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';
import { validateInventory } from '../../daemon/core/inventory/validate.js';
import type { LoadedInventory } from '../../daemon/core/inventory/load.js';
import { startTftpServer, type TftpServer } from '../../daemon/tftp/index.js';
import { imagesTftpHandler } from '../../daemon/tftp-images.js';

let server: TftpServer;
let loaded: LoadedInventory;
const out = tempDir('tftp-exp');
const files = new Map<string, Buffer>();

before(async () => {
  const inv = inventoryCopy();
  const root = join(dirname(inv), 'boot-images');
  const put = (rel: string, data: Buffer | string) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), data);
    files.set(rel, Buffer.from(data));
  };
  put('undionly.kpxe', randomBytes(70_000));
  put('agent/vmlinuz', randomBytes(200_000));
  put('images/test.raw', randomBytes(100_000));
  put('build-agent.sh', '#!/bin/sh\necho build\n');
  put('cache/busybox-static_1.36_amd64.deb', randomBytes(10_000));
  put('notes.txt', 'operator notes\n');
  put('.env', 'SECRET=1\n');
  writeFileSync(inv, readFileSync(inv, 'utf8').replace('url: images/lab.raw.gz', 'url: images/test.raw'));
  const v = validateInventory(inv);
  assert.ok(v.ok, JSON.stringify(!v.ok && v.errors));
  loaded = v.value;
  server = await startTftpServer({ address: '127.0.0.1', port: 0, handler: imagesTftpHandler(() => loaded) });
});
after(async () => { await server?.close(); });

function curl(path: string): Promise<{ code: number; body: Buffer }> {
  const file = join(out, randomBytes(4).toString('hex'));
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--path-as-is', '-o', file, `tftp://127.0.0.1:${server.port}/${path}`], (err) => {
      const code = err ? Number((err as { code?: number }).code) : 0;
      let body = Buffer.alloc(0);
      try { body = readFileSync(file); } catch { /* nothing written */ }
      resolve({ code, body });
    });
  });
}

test('loaders, the agent and the files profiles name are served over TFTP', async () => {
  for (const p of ['undionly.kpxe', 'agent/vmlinuz', 'images/test.raw']) {
    const r = await curl(p);
    assert.equal(r.code, 0, p);
    assert.ok(r.body.equals(files.get(p)!), `${p} arrives intact`);
  }
});

test('build scripts, the .deb cache and notes beside the images are "file not found"', async () => {
  for (const p of ['build-agent.sh', 'cache/busybox-static_1.36_amd64.deb', 'notes.txt']) {
    const r = await curl(p);
    assert.equal(r.code, 68, `${p}: curl exit ${r.code}`);
    assert.equal(r.body.length, 0, p);
  }
});

test('a dotfile is still an access violation, as before', async () => {
  assert.equal((await curl('.env')).code, 69);
});

test('the stats count the refusals like any other missing file', () => {
  const s = server.stats();
  assert.equal(s.transfers.not_found, 3, JSON.stringify(s.transfers));
  assert.equal(s.transfers.ok, 3, JSON.stringify(s.transfers));
});
