// The DHCP server's datagram transports side by side: the batched addon (recvmmsg/sendmmsg,
// daemon/native/udpbatch.c) when built, and Node's dgram under RACKHAND_UDPBATCH=0. For each, a
// burst of 1,000 relayed DISCOVERs with one malformed datagram in the middle: every DISCOVER is
// offered, the malformed one is one counted drop (the rest of its batch is not lost), and
// /metrics says which transport served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UDPBATCH_PATH } from '../../daemon/udp-batch.js';
import { twoHostLink } from '../lib/netns.js';
import { perfdhcpMacs } from '../lib/perfdhcp.js';
import { startServer } from '../lib/dhcp-server.js';
import { removableTempDir } from '../lib/tmp.js';

const BURST = join(import.meta.dirname, 'dhcp-burst.ts');
const CLIENTS = 1000;
const SITE = {
  interface: 'prov0', address: '10.20.0.1', http_port: 8080,
  dhcp: { mode: 'full', subnet: '10.20.0.0/16', router: '10.20.0.1', pool: '10.20.1.0-10.20.255.254', lease_time: 3600 },
};

for (const transport of ['batched', 'dgram'] as const) {
  const skip = transport === 'batched' && !existsSync(UDPBATCH_PATH) && `${UDPBATCH_PATH} not built (make build)`;
  test(`${transport}: a burst of ${CLIENTS} DISCOVERs is all offered; a malformed datagram among them is one counted drop`, { skip }, async () => {
    const tmp = removableTempDir(`burst-${transport}`);
    const link = await twoHostLink({ tag: `bu${transport.slice(0, 3)}`, serverIf: 'prov0', serverAddress: '10.20.0.1', prefixLength: 16, clientAddress: '10.20.0.2' });
    try {
      const machines = perfdhcpMacs(CLIENTS).map((mac, i) => ({ name: `burst-${i}`, mac }));
      // Each variant says its transport itself: a whole suite run on the fallback (RACKHAND_UDPBATCH=0) still tests the batched one here.
      const prefix = transport === 'dgram' ? ['env', 'RACKHAND_UDPBATCH=0'] : ['env', '-u', 'RACKHAND_UDPBATCH'];
      const server = await startServer(link.server, tmp.dir, { site: SITE, machines }, { prefix });
      try {
        const m0 = await server.metrics();
        assert.equal(m0[`rackhand_dhcp_transport{transport=${transport}}`], 1, JSON.stringify(m0));
        const out = await link.client.exec(process.execPath, ['--import', 'tsx', BURST, '10.20.0.1', '10.20.0.2', String(CLIENTS), '20000']);
        const r = JSON.parse(out.trim().split('\n').pop()!) as { sent: number; offers: number };
        assert.equal(r.sent, CLIENTS + 1);
        const m = await server.metrics();
        assert.equal(m['rackhand_dhcp_drops_total{reason=truncated}'], 1, JSON.stringify(m));
        assert.equal(await server.drops(), 1, 'nothing else dropped');
        assert.equal(m['rackhand_dhcp_messages_total{type=DISCOVER}'], CLIENTS);
        assert.equal(r.offers, CLIENTS, `${r.offers} of ${CLIENTS} offered`);
      } finally {
        await server.stop();
      }
    } finally {
      await link.close();
      tmp.remove();
    }
  });
}
