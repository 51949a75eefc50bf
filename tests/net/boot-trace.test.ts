// The boot trace from real packets: `rackhand serve` (DHCP, TFTP, HTTP; SQLite) in a namespace,
// and in the other one busybox udhcpc as PXE firmware and then as iPXE, curl fetching the loader
// over TFTP (blksize 1468) and a file that is not there, and curl fetching the machine's iPXE
// script over HTTP. GET /api/v1/machines/M/boot-trace must show each step with its outcome; an
// unknown MAC's DISCOVER and a stranger's TFTP fetch grow nothing (counted in a metric); a hostile
// vendor class is stored bounded and renders inert on the dashboard; the script kept has its
// boot nonce redacted, and a token in a path (even a guessed one) is redacted too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { twoHostLink } from '../lib/netns.js';
import { ADMIN_TOKEN, prepareStateDir, REPO } from '../lib/daemon.js';
import { setMac, udhcpc } from '../lib/dhcp-clients.js';
import { tempDir } from '../lib/tmp.js';
import { FIELD_MAX } from '../../daemon/core/boot-trace.js';

const MAC = '52:54:00:7a:00:01';
const STRANGER = '52:54:00:7a:00:99';
// Starts as PXE firmware's does (so it is answered), then markup, quotes and a length past the bound.
const HOSTILE_VENDOR = `PXEClient:Arch:00007:UNDI:003016<script>window.__pwned=1</script>"'&${'A'.repeat(200)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function inventory(dir: string): string {
  const images = join(dir, 'images');
  mkdirSync(images);
  writeFileSync(join(images, 'ipxe.efi'), Buffer.alloc(40_000, 7));
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, `site:
  interface: prov0
  address: 10.20.0.1
  http_port: 8080
  images_dir: ${images}
  dhcp:
    mode: full
    subnet: 10.20.0.0/24
    router: 10.20.0.1
    pool: 10.20.0.100-10.20.0.150
machines:
  - { name: trace-01, mac: "${MAC}", ip: 10.20.0.21, power: { driver: manual } }
`);
  return file;
}

interface Entry { kind: string; outcome: string; summary: string; detail: Record<string, unknown>; text?: string }

test('real DHCP, TFTP and HTTP steps make the machine\'s boot trace; strangers make none', { timeout: 120_000 }, async () => {
  const link = await twoHostLink({ tag: 'rhtrac', serverIf: 'prov0', serverAddress: '10.20.0.1' });
  let daemon: ChildProcess | undefined;
  let log = '';
  const dir = tempDir('boot-trace');
  const state = join(dir, 'state');
  prepareStateDir(state);
  try {
    daemon = link.server.spawn(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'serve',
      '--inventory', inventory(dir), '--state-dir', state, '--no-power'], { cwd: REPO });
    await new Promise<void>((resolve, reject) => {
      daemon!.stdout!.on('data', (b: Buffer) => { log += b; if (log.includes('DHCP listening')) resolve(); });
      daemon!.stderr!.on('data', (b: Buffer) => { log += b; });
      daemon!.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${log.slice(-3000)}`)));
    });
    const curlIn = async (ns: typeof link.server, args: string[]) => {
      const out = await ns.exec('curl', ['-sS', '-m', '10', '-w', '\n%{http_code}', ...args]);
      const i = out.lastIndexOf('\n');
      return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
    };
    const api = (path: string) => curlIn(link.server, ['-H', `authorization: Bearer ${ADMIN_TOKEN}`, `http://127.0.0.1:8080${path}`]);

    // An operation, so the script handed out is the agent's, with a boot nonce in it.
    assert.equal((await api('/api/v1/machines/trace-01')).status, 200);
    const started = await curlIn(link.server, ['-X', 'POST', '-H', `authorization: Bearer ${ADMIN_TOKEN}`, '-H', 'content-type: application/json', '-d', '{}',
      'http://127.0.0.1:8080/api/v1/machines/trace-01/actions/inspect']);
    assert.ok(started.status < 300, started.body);

    // A stranger first: not answered, and nothing kept.
    await setMac(link.client, 'eth0', STRANGER);
    assert.equal(await udhcpc(link.client, dir, { vendor: 'PXEClient:Arch:00007:UNDI:003016', arch: 7, tries: 1 }), undefined);
    // The machine as UEFI PXE firmware (with a hostile vendor class), then as iPXE.
    await setMac(link.client, 'eth0', MAC);
    const firmware = await udhcpc(link.client, dir, { vendor: HOSTILE_VENDOR.slice(0, 250), arch: 7 });
    assert.ok(firmware, log.slice(-2000));
    assert.equal(firmware.boot_file, 'ipxe.efi');
    const ipxe = await udhcpc(link.client, dir, { vendor: 'PXEClient:Arch:00007:UNDI:003016', arch: 7, userClass: 'iPXE' });
    assert.match(ipxe?.boot_file ?? '', /\/boot\/52:54:00:7a:00:01\.ipxe$/);
    await link.client.ip('addr', 'add', '10.20.0.21/24', 'dev', 'eth0');
    await link.client.ip('addr', 'add', '10.20.0.99/24', 'dev', 'eth0');
    const tftp = await link.client.exec('curl', ['-sS', '-m', '10', '--interface', '10.20.0.21', '--tftp-blksize', '1468', '-o', '/dev/null', '-w', '%{size_download}', 'tftp://10.20.0.1/ipxe.efi']);
    assert.equal(Number(tftp), 40_000);
    await link.client.exec('curl', ['-sS', '-m', '5', '--interface', '10.20.0.21', '-o', '/dev/null', 'tftp://10.20.0.1/nope.efi']).catch(() => undefined);
    await link.client.exec('curl', ['-sS', '-m', '10', '--interface', '10.20.0.99', '-o', '/dev/null', 'tftp://10.20.0.1/ipxe.efi']);
    const script = await curlIn(link.client, ['--interface', '10.20.0.21', `http://10.20.0.1:8080/boot/${MAC}.ipxe`]);
    assert.equal(script.status, 200);
    assert.match(script.body, /rackhand\.nonce=[A-Za-z0-9_-]{16,}/, 'the machine itself gets its nonce');
    const nonce = /rackhand\.nonce=([A-Za-z0-9_-]+)/.exec(script.body)![1]!;
    assert.equal((await curlIn(link.client, ['--interface', '10.20.0.21', '-o', '/dev/null', 'http://10.20.0.1:8080/boot/ipxe.efi'])).status, 200);
    const guessed = await curlIn(link.client, ['--interface', '10.20.0.21', 'http://10.20.0.1:8080/v1/nocloud/GUESSED-TOKEN-0123456789/user-data']);
    assert.ok(guessed.status >= 400, guessed.body);
    // The routers take a path in any case, so the trace does, and redacts its token all the same.
    const shouted = await curlIn(link.client, ['--interface', '10.20.0.21', 'http://10.20.0.1:8080/V1/NOCLOUD/GUESSED-TOKEN-0123456789/meta-data']);
    assert.ok(shouted.status >= 400, shouted.body);

    await sleep(1200); // the recorder writes every 500 ms
    const res = await api('/api/v1/machines/trace-01/boot-trace');
    assert.equal(res.status, 200, res.body);
    const entries = (JSON.parse(res.body) as { entries: Entry[] }).entries;
    const line = (e: Entry) => `${e.kind} ${e.outcome} ${e.summary}`;
    const dhcp = entries.filter((e) => e.kind === 'dhcp');
    assert.deepEqual(dhcp.map((e) => [e.detail.type, e.detail.answer, e.detail.ipxe]), [
      ['DISCOVER', 'OFFER', false], ['REQUEST', 'ACK', false], ['DISCOVER', 'OFFER', true], ['REQUEST', 'ACK', true]], entries.map(line).join('\n'));
    assert.equal(dhcp[0]!.detail.file, 'ipxe.efi');
    assert.equal(dhcp[0]!.detail.arch, 7);
    assert.equal(dhcp[1]!.detail.address, '10.20.0.21');
    assert.equal(dhcp[3]!.detail.user_class, 'iPXE');
    assert.match(String(dhcp[3]!.detail.file), /\.ipxe$/);
    const vendor = String(dhcp[0]!.detail.vendor_class);
    assert.equal(vendor.length, FIELD_MAX, 'the hostile vendor class is kept bounded');
    assert.ok(vendor.startsWith('PXEClient:Arch:00007:UNDI:003016<script>'), vendor);
    const tftps = entries.filter((e) => e.kind === 'tftp');
    assert.deepEqual(tftps.map((e) => [e.detail.file, e.outcome]), [['ipxe.efi', 'ok'], ['nope.efi', 'refused']], 'the stranger\'s fetch (10.20.0.99) is not kept');
    assert.equal(tftps[0]!.detail.bytes, 40_000);
    assert.equal(tftps[0]!.detail.blksize, 1468);
    const http = entries.filter((e) => e.kind === 'http');
    assert.deepEqual(http.map((e) => [e.detail.path, e.outcome]), [[`/boot/${MAC}.ipxe`, 'ok'], ['/boot/ipxe.efi', 'ok'], ['/v1/nocloud/[redacted]/user-data', 'refused'],
      ['/V1/NOCLOUD/[redacted]/meta-data', 'refused']], entries.map(line).join('\n'));
    assert.equal(http[0]!.detail.status, 200);
    assert.equal(http[1]!.detail.bytes, 40_000);
    assert.ok(!res.body.includes('GUESSED-TOKEN'), 'a token in a path is redacted, even a wrong one');
    assert.match(http[0]!.text ?? '', /^#!ipxe/);
    assert.ok(!res.body.includes(nonce), 'the nonce is nowhere in the trace');
    assert.match(http[0]!.text!, /rackhand\.nonce=\[redacted\]/);
    assert.ok(entries.map((e) => e.kind).join(' ').startsWith('dhcp dhcp dhcp dhcp tftp tftp http http http http'), 'newest last');

    const metrics = (await api('/metrics')).body;
    const unknown = Number(/^rackhand_boot_trace_dropped_total\{reason="unknown"\} (\S+)$/m.exec(metrics)?.[1] ?? 0);
    assert.ok(unknown >= 2, `strangers counted: ${unknown}`);

    // The dashboard renders the hostile vendor class as text.
    const jar = join(dir, 'jar');
    await link.server.exec('curl', ['-sS', '-m', '10', '-c', jar, '-o', '/dev/null', '-d', `token=${ADMIN_TOKEN}`, 'http://127.0.0.1:8080/ui/sign-in']);
    const fragment = await curlIn(link.server, ['-b', jar, 'http://127.0.0.1:8080/ui/machines/trace-01/trace']);
    assert.equal(fragment.status, 200);
    assert.ok(fragment.body.includes('003016&lt;script&gt;window.__pwned=1&lt;/script&gt;&quot;&#39;&amp;'), 'escaped');
    assert.ok(!fragment.body.includes('<script>window.__pwned'), 'never raw');
  } finally {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon!.once('exit', r));
    }
    await link.close();
  }
  // Only the machine has rows: strangers grew nothing.
  const db = new Database(join(state, 'rackhand.db'), { readonly: true });
  try {
    assert.deepEqual(db.prepare('SELECT DISTINCT machine FROM boot_trace').all(), [{ machine: 'trace-01' }]);
  } finally {
    db.close();
  }
});
