// GRUB's configs over TFTP (Secure Boot: http/grub.ts says why TFTP): grub/grub.cfg, the same
// for every machine, and grub/MAC.cfg, the machine's boot plan rendered for GRUB — generated per
// request, never files on disk. A machine's config is a boot secret (it carries the boot nonce):
// only the machine's own address gets it; any other is refused (access violation) and recorded
// in the refusal log as the HTTP routes' refusals are. An unknown MAC gets the refusal config and
// changes nothing. Every other path goes on to the images directory's handler.
import type { BootContext } from './http/context.js';
import { machinePlanner } from './http/machine-plan.js';
import { GRUB_MACHINE_CONFIG, grubStaticConfig, renderGrubConfig } from './http/grub.js';
import { isMachineSource } from './http/machine-source.js';
import { refusalLog } from './http/boot-token.js';
import { siteFor } from './core/inventory/racks.js';
import { GRUB_CONFIG_PATH } from './core/boot-loaders.js';
import { baseUrl } from './core/urls.js';
import { normalizeMac } from './core/net.js';
import { accessViolation, bufferFile, requestSegments, type TftpHandler } from './tftp/index.js';

/** `localAddress`: the address this TFTP server answers on, when it serves another rack's segment. */
export function grubConfigsFirst(ctx: BootContext, files: TftpHandler, localAddress?: string): TftpHandler {
  const planFor = machinePlanner(ctx);
  const staticConfig = Buffer.from(grubStaticConfig());
  return async (path, client) => {
    // Throws the access violation for unsafe paths, as the images handler would.
    const wanted = requestSegments(path).join('/');
    if (wanted === GRUB_CONFIG_PATH) return bufferFile(staticConfig);
    const match = GRUB_MACHINE_CONFIG.exec(wanted);
    const mac = match ? normalizeMac(match[1]!) : undefined;
    if (!mac) return files(path, client);
    const loaded = ctx.inventory();
    const site = (m: { rack: string | null } | undefined) => siteFor(loaded.inventory, loaded.rack, m?.rack ?? null, localAddress);
    const { machine, plan } = await planFor({
      mac, site, actor: `tftp:${client.address}`, what: 'GRUB config',
      authorize: async (m) => {
        if (await isMachineSource(ctx.store, m, client.address)) return;
        refusalLog(ctx.store).refuse(client.address, { machine: m.name, why: `not ${m.name}'s address`, route: 'TFTP grub/MAC.cfg' });
        throw accessViolation('access violation', `${m.name}'s GRUB config asked for from ${client.address}`);
      },
    });
    const served = site(machine);
    return bufferFile(Buffer.from(renderGrubConfig(plan, { baseUrl: baseUrl(served), tftpServer: served.address })));
  };
}
