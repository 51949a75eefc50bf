// The DHCP part as the daemon uses it: one call from the inventory's site section and the store.
//   const dhcp = await startDhcp(site, store, { registry, logger });  …  await dhcp.close();
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { storeBackend, type DhcpStore, type StoreBackendOptions } from './backend.js';
import { DhcpServer } from './server.js';
import { dhcpSettingsFromSite, type SiteLike } from './settings.js';
import type { TraceSink } from '../core/boot-trace.js';

export { DhcpServer, startDhcpServer } from './server.js';
export { storeBackend, memoryBackend, discoveredName, type DhcpBackend, type DhcpMachine, type DhcpStore, type StoreBackendOptions } from './backend.js';
export { dhcpSettingsFromSite, DhcpSettingsError, type DhcpSettings, type SiteLike } from './settings.js';
export { decideBoot, ipxeScriptUrl, DEFAULT_LOADERS } from './bootfile.js';
/** SO_BINDTOIFINDEX on any dgram socket (usable by the TFTP server too). */
export { bindToInterface } from './socket-linux.js';

export async function startDhcp(site: SiteLike, store: DhcpStore,
  deps: { registry: Registry; logger?: Logger; startInspection?: StoreBackendOptions['startInspection']; rack?: string | null; trace?: TraceSink; secureBoot?: StoreBackendOptions['secureBoot'] }): Promise<DhcpServer> {
  const backend = storeBackend(store, {
    ...(deps.startInspection && { startInspection: deps.startInspection }), rack: deps.rack ?? null, ...(deps.secureBoot && { secureBoot: deps.secureBoot }),
  });
  const server = new DhcpServer({ settings: dhcpSettingsFromSite(site), backend, registry: deps.registry, ...(deps.logger && { logger: deps.logger }), ...(deps.trace && { trace: deps.trace }) });
  await server.start();
  return server;
}
