// What a booting client is told to load (SPEC §3): a pure function of what the packet says, the
// site's settings and the machine. The arch → loader map is plain data; the site may override it.
import { bootFileUrl, bootPaths, httpBase } from '../core/urls.js';
import { DEFAULT_LOADERS, SECURE_BOOT_HTTP_ARCHS, SECURE_BOOT_LOADERS } from '../core/boot-loaders.js';

export { DEFAULT_LOADERS };
import { Opt, userClasses } from './options.js';
import type { Packet } from './packet.js';

/** Arch types that only boot over HTTP (IANA registry: "… UEFI HTTP"). */
export const HTTP_ONLY_ARCHS: ReadonlySet<number> = new Set([15, 16, 18, 19, 20, 21, 24, 26, 28, 30]);

/** What the packet says about the client's boot firmware. */
export interface ClientFacts {
  mac: string;
  /** First value of option 93; undefined when absent. */
  arch: number | undefined;
  vendorClass: string | undefined;
  userClasses: string[];
  /** Firmware PXE (PXEClient), UEFI HTTP boot (HTTPClient) or iPXE. */
  pxe: boolean;
  http: boolean;
  ipxe: boolean;
}

export function clientFacts(p: Packet, mac: string): ClientFacts {
  const vendorClass = p.options.string(Opt.VENDOR_CLASS);
  const classes = userClasses(p.options);
  const ipxe = classes.includes('iPXE') || p.options.has(Opt.IPXE_ENCAP);
  const http = vendorClass?.startsWith('HTTPClient') ?? false;
  return {
    mac,
    arch: p.options.u16s(Opt.CLIENT_ARCH)?.[0],
    vendorClass,
    userClasses: classes,
    pxe: ipxe || http || (vendorClass?.startsWith('PXEClient') ?? false),
    http,
    ipxe,
  };
}

export interface BootSite {
  serverAddress: string;
  httpPort: number;
  discovery: boolean;
  bootFiles: Readonly<Record<string, string>>;
}

export interface BootMachine {
  name: string;
  mac: string;
  /** Boots Debian's signed shim → GRUB chain instead of iPXE (core/secure-boot.ts). */
  secureBoot?: boolean;
}

export type BootDecision =
  | { boot: false; reason: string }
  | {
      boot: true;
      /** tftp: a loader over TFTP; http: a loader URL (UEFI HTTP boot); script: iPXE's script URL. */
      kind: 'tftp' | 'http' | 'script';
      /** siaddr / option 66. */
      nextServer: string;
      /** The BOOTP file field / option 67: a TFTP path or a URL. */
      file: string;
      /**
       * Option 60 to put in the reply. UEFI HTTP boot ignores offers without HTTPClient (UEFI 2.x
       * §24.7). iPXE takes an offer without PXEClient for a plain DHCP offer and waits about 3 s
       * for a ProxyDHCP offer before it requests; with PXEClient it requests at once.
       */
      vendorClass: 'HTTPClient' | 'PXEClient' | undefined;
    };

/**
 * The iPXE script URL handed to iPXE, built by core/urls.ts as every boot URL is. The MAC is the
 * one that asked (iPXE's net0 may not be the NIC the inventory lists first).
 */
export function ipxeScriptUrl(site: Pick<BootSite, 'serverAddress' | 'httpPort'>, mac: string): string {
  return httpBase(site.serverAddress, site.httpPort) + bootPaths.ipxeScript(mac);
}

const isUrl = (s: string) => /^https?:\/\//.test(s);

export function decideBoot(client: ClientFacts, site: BootSite, machine: BootMachine | undefined): BootDecision {
  if (!machine && !site.discovery) return { boot: false, reason: `MAC ${client.mac} is not in the inventory and discovery is off` };
  if (!client.pxe) return { boot: false, reason: 'not a PXE client (no PXEClient/HTTPClient vendor class, not iPXE)' };
  // SPEC §3.2: iPXE never gets a loader again, or it would chain-load itself forever.
  if (client.ipxe) {
    const vendorClass = client.vendorClass?.startsWith('PXEClient') ? 'PXEClient' : undefined;
    return { boot: true, kind: 'script', nextServer: site.serverAddress, file: ipxeScriptUrl(site, client.mac), vendorClass };
  }
  if (client.arch === undefined) return { boot: false, reason: 'PXE client without option 93 (client architecture)' };
  // Secure Boot firmware refuses iPXE (unsigned): such a machine gets the signed shim, which the
  // site's boot_files do not override. GRUB, not iPXE, then fetches the per-machine config.
  if (machine?.secureBoot && SECURE_BOOT_HTTP_ARCHS.has(client.arch)) {
    return { boot: false, reason: `${machine.name} boots Secure Boot's signed GRUB, which reads its config over TFTP only (no http module): not answered for UEFI HTTP Boot (arch ${client.arch}), it boots by PXE` };
  }
  const signed = machine?.secureBoot ? SECURE_BOOT_LOADERS[client.arch] : undefined;
  const loader = signed ?? site.bootFiles[String(client.arch)] ?? DEFAULT_LOADERS[client.arch];
  if (!loader) {
    return { boot: false, reason: `no loader for client arch ${client.arch}: add it to site.boot_files` };
  }
  if (client.http) {
    const url = bootFileUrl(httpBase(site.serverAddress, site.httpPort), loader);
    return { boot: true, kind: 'http', nextServer: site.serverAddress, file: url, vendorClass: 'HTTPClient' };
  }
  if (HTTP_ONLY_ARCHS.has(client.arch)) {
    return { boot: false, reason: `client arch ${client.arch} boots over HTTP but its vendor class is ${JSON.stringify(client.vendorClass)}, not HTTPClient` };
  }
  if (isUrl(loader)) {
    return { boot: false, reason: `site.boot_files.${client.arch} is a URL, which a TFTP (PXEClient) firmware cannot load` };
  }
  return { boot: true, kind: 'tftp', nextServer: site.serverAddress, file: loader, vendorClass: undefined };
}
