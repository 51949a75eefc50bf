// A corpus of malformed DHCP datagrams sent from the client namespace: each is dropped and counted
// under its reason, none is answered, the server stays up, and a good client is answered after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { twoHostLink } from '../lib/netns.js';
import { malformedCorpus } from '../fixtures/dhcp/malformed.js';
import { SITE, startServer } from '../lib/dhcp-server.js';
import { udhcpc } from '../lib/dhcp-clients.js';
import { removableTempDir } from '../lib/tmp.js';

const SENDER = join(import.meta.dirname, 'dhcp-send.ts');
const MAC = '52:54:00:00:0b:ad';

test('malformed corpus: every datagram dropped and counted, good clients still answered', async () => {
  const tmp = removableTempDir('malformed');
  const link = await twoHostLink({ tag: 'dhcpm', serverIf: 'prov0', serverAddress: '10.20.0.1', clientMac: MAC, clientAddress: '10.20.0.2' });
  try {
    const server = await startServer(link.server, tmp.dir, { site: SITE, machines: [{ name: 'bad', mac: MAC, ip: '10.20.0.66' }] });
    try {
      const corpus = malformedCorpus(MAC);
      assert.ok(corpus.length >= 25, `${corpus.length} packets`);
      const file = join(tmp.dir, 'corpus.hex');
      writeFileSync(file, corpus.map((c) => c.bytes.toString('hex')).join('\n'));
      const out = await link.client.exec(process.execPath, ['--import', 'tsx', SENDER, file, '10.20.0.1']);
      assert.match(out, new RegExp(`sent ${corpus.length}`));
      await new Promise((r) => setTimeout(r, 300));

      const m = await server.metrics();
      const drops = (reason: string) => m[`rackhand_dhcp_drops_total{reason=${reason}}`] ?? 0;
      const total = Object.entries(m).filter(([k]) => k.startsWith('rackhand_dhcp_drops_total')).reduce((n, [, v]) => n + v, 0);
      assert.equal(total, corpus.length, `drops ${JSON.stringify(m)}`);
      const expected = new Map<string, number>();
      for (const c of corpus) if (c.reason) expected.set(c.reason, (expected.get(c.reason) ?? 0) + 1);
      for (const [reason, n] of expected) assert.ok(drops(reason) >= n, `reason ${reason}: ${drops(reason)} counted, ${n} expected`);
      const replies = Object.entries(m).filter(([k]) => k.startsWith('rackhand_dhcp_replies_total')).reduce((n, [, v]) => n + v, 0);
      assert.equal(replies, 0);

      const lease = await udhcpc(link.client, tmp.dir, { vendor: 'PXEClient:Arch:00000:UNDI:002001', arch: 0 });
      assert.equal(lease?.ip, '10.20.0.66');
      assert.equal(lease?.boot_file, 'undionly.kpxe');
      assert.equal(server.child.exitCode, null, 'the server is still running');
    } finally {
      await server.stop();
    }
  } finally {
    await link.close();
    tmp.remove();
  }
});
