// The malformed corpus through the listener in-process: each case dropped under exactly its reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { DhcpServer } from '../../daemon/dhcp/server.js';
import { memoryBackend } from '../../daemon/dhcp/backend.js';
import { dhcpSettingsFromSite } from '../../daemon/dhcp/settings.js';
import { malformedCorpus } from '../fixtures/dhcp/malformed.js';

const MAC = '52:54:00:00:0b:ad';

test('each malformed packet is dropped under its own reason', async () => {
  const { backend } = memoryBackend([{ name: 'bad', mac: MAC, ip: '10.20.0.66', hostname: 'bad', state: 'ready' }]);
  const sent: Buffer[] = [];
  const server = new DhcpServer({
    settings: dhcpSettingsFromSite({ interface: 'prov0', address: '10.20.0.1', dhcp: { mode: 'full', subnet: '10.20.0.0/24' } }),
    backend, registry: new Registry(),
    openSocket: async ({ port }) => ({ port, onMessage() {}, async close() {}, async send(m) { sent.push(m); } }),
  });
  await server.start();
  for (const c of malformedCorpus(MAC)) {
    server.metrics.drops.reset();
    await server.receive(c.bytes, 67, { address: '10.20.0.2', port: 68 });
    const got = (await server.metrics.drops.get()).values.filter((v) => v.value > 0).map((v) => String(v.labels.reason));
    assert.equal(got.length, 1, `${c.name}: ${got.join(',') || 'not dropped'}`);
    if (c.reason) assert.equal(got[0], c.reason, c.name);
  }
  assert.equal(sent.length, 0);
  await server.close();
});
