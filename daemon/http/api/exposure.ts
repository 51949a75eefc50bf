// The operator's surface (the API, /metrics, later the UI) is not served to the provisioning
// network unless the site says so (`site.api_on_provisioning`): every deployed tenant machine sits
// on that network. What decides is the local address a request arrived on (`site.address` is the
// provisioning side) and, because Linux answers for any of its addresses on any interface (a
// machine on the provisioning segment can route a packet to the management address through us),
// the source address too: one from a provisioning subnet (local or relayed) is refused as well.
// /healthz and the boot routes are served everywhere: machines boot from them.
import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../errors.js';
import { inCidr, parseCidr, parseIPv4 } from '../../core/net.js';
import type { Site } from '../../core/inventory/schema.js';

/** An IPv4 address as a number, unwrapping IPv4-mapped IPv6 (::ffff:a.b.c.d). */
const ipv4Of = (addr: string | undefined): number | undefined => (addr ? parseIPv4(addr.replace(/^::ffff:/i, '')) : undefined);

/** Why the operator surface is refused to this connection, or undefined when it is served. */
export function provisioningRefusal(site: Site, local: string | undefined, remote: string | undefined): string | undefined {
  if (site.api_on_provisioning) return undefined;
  const l = ipv4Of(local);
  if (l !== undefined && l === parseIPv4(site.address)) {
    return `not served on the provisioning address ${site.address}: use the management address (site.api_on_provisioning)`;
  }
  const r = ipv4Of(remote);
  const subnets = [site.dhcp.subnet, ...site.dhcp.relayed.map((s) => s.subnet)].flatMap((s) => (s ? [parseCidr(s)!] : []));
  if (r !== undefined && subnets.some((c) => inCidr(r, c))) {
    return 'not served to the provisioning network (site.api_on_provisioning)';
  }
  return undefined;
}

export function operatorSurfaceOnly(site: () => Site) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const refusal = provisioningRefusal(site(), req.socket.localAddress, req.socket.remoteAddress);
    next(refusal ? new ApiError('FORBIDDEN', refusal) : undefined);
  };
}
