// 2% random loss each way: 4 MiB transfers by four real clients at once still complete
// intact, and the server counts its retransmissions. The loss is an nftables rule on the
// input hook of each namespace, matching the peer's address so that DATA from ephemeral
// ports is hit too (a drop on the output hook would fail the sender's sendto with EPERM,
// which is not loss but an error the clients report).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { CLIENT_ADDRESS, setup, sha256File, type Bench } from './tftp-harness.js';
import { tryExec } from '../lib/netns.js';

const FILE = 'four.bin';
let b: Bench;

before(async () => {
  b = await setup('tftpls', { [FILE]: 4 << 20 });
  const drop = (ns: 'client' | 'server', from: string): Promise<string> => {
    const rules = path.join(b.fixture.dir, `loss-${ns}.nft`);
    writeFileSync(rules, `table inet rhloss {
  chain in { type filter hook input priority 0; ip saddr ${from} meta l4proto udp numgen random mod 100 < 2 counter drop; }
}
`);
    return b.link[ns].exec('nft', ['-f', rules]);
  };
  await drop('client', b.link.serverAddress); // DATA and OACK lost
  await drop('server', CLIENT_ADDRESS); // RRQ and ACK lost
});
after(async () => { await b?.close(); });

test('tftp-hpa, curl, atftp (windowsize 16) and busybox each get 4 MiB intact through 2% loss', async () => {
  const c = b.link.client;
  const server = b.link.serverAddress;
  const out = (n: string): string => path.join(b.fixture.out, n);
  const runs: [string, Promise<{ code: number; stdout: string; stderr: string }>][] = [
    ['hpa', tryExec(c, 'tftp', ['-m', 'binary', server, '-c', 'get', FILE, out('hpa')])],
    ['curl', tryExec(c, 'curl', ['-sS', '--tftp-blksize', '1468', '-o', out('curl'), `tftp://${server}/${FILE}`])],
    ['atftp', tryExec(c, 'atftp', ['--option', 'blksize 1468', '--option', 'windowsize 16', '-g', '-r', FILE, '-l', out('atftp'), server])],
    ['busybox', tryExec(c, 'busybox', ['tftp', '-b', '1468', '-g', '-r', FILE, '-l', out('busybox'), server])],
  ];
  for (const [name, run] of runs) {
    const r = await run;
    assert.equal(r.code, 0, `${name}: ${r.stderr}${r.stdout}\n${b.server.logs().slice(-3000)}`);
    // tftp-hpa exits 0 even after an error: what it prints is the verdict.
    if (name === 'hpa') assert.equal(r.stderr + r.stdout, '', `${name} printed an error\n${b.server.logs().slice(-3000)}`);
    assert.equal(await sha256File(out(name)), b.fixture.hashes[FILE], name);
  }
  // The drop rule really dropped: the server had to resend.
  const stats = await b.server.stats();
  assert.ok(stats.retransmissions > 0, JSON.stringify(stats));
  for (const ns of ['client', 'server'] as const) {
    const listing = await b.link[ns].exec('nft', ['list', 'table', 'inet', 'rhloss']);
    assert.match(listing, /counter packets [1-9]\d* bytes/, `${ns} side dropped something`);
  }
});
