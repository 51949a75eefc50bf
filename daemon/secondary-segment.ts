// One secondary segment, opened while its rack is silent (racks/secondary.ts decides when): TFTP
// on this daemon's address there, and DHCP with that rack's settings (its subnets, pools,
// reservations: leases come from the shared store) but this daemon's interface and address, so
// machines there boot from this daemon.
import type { Registry } from 'prom-client';
import type { LoadedInventory } from './core/inventory/load.js';
import { rackSite } from './core/inventory/racks.js';
import type { MachineRecord, Store } from './core/store/types.js';
import type { Logger } from './log.js';
import type { Closable, SecondaryEntry } from './racks/secondary.js';
import { startTftpServer, type TftpHandler } from './tftp/index.js';
import { imagesTftpHandler } from './tftp-images.js';
import { startDhcp } from './dhcp/index.js';
import type { TraceSink } from './core/boot-trace.js';

export async function startSecondarySegment(entry: SecondaryEntry, loaded: () => LoadedInventory, store: Store, registry: Registry, logger: Logger,
  startInspection: (name: string, cause: string) => Promise<MachineRecord | undefined>, tftpPort?: number, trace?: TraceSink,
  secure?: { grub: (files: TftpHandler, address: string) => TftpHandler; secureBoot: (name: string) => boolean }): Promise<Closable> {
  const inv = loaded().inventory;
  const primary = inv.racks[entry.rack];
  if (!primary) throw new Error(`no rack ${entry.rack} in the inventory`);
  const site = { ...rackSite(inv.site, primary), interface: entry.interface, address: entry.address, http_port: inv.site.http_port };
  const log = logger.child({ segment: entry.rack });
  const tftp = await startTftpServer({ address: entry.address, port: tftpPort ?? 69, bindInterface: entry.interface, handler: secure ? secure.grub(imagesTftpHandler(loaded), entry.address) : imagesTftpHandler(loaded) }, { logger: log, registry, trace });
  try {
    const dhcp = await startDhcp(site, store, { registry, logger: log, rack: entry.rack, startInspection, trace, ...(secure && { secureBoot: secure.secureBoot }) });
    return { async close() { await dhcp.close(); await tftp.close(); } };
  } catch (err) {
    await tftp.close();
    throw err;
  }
}
