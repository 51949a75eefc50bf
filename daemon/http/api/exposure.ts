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
import type { Inventory } from '../../core/inventory/schema.js';
import { provisioningNetwork } from '../../core/inventory/racks.js';

/** An IPv4 address as a number, unwrapping IPv4-mapped IPv6 (::ffff:a.b.c.d). */
const ipv4Of = (addr: string | undefined): number | undefined => (addr ? parseIPv4(addr.replace(/^::ffff:/i, '')) : undefined);

/** Why the operator surface is refused to this connection, or undefined when it is served. */
export function provisioningRefusal(inv: Inventory, local: string | undefined, remote: string | undefined): string | undefined {
  if (inv.site.api_on_provisioning) return undefined;
  // With racks, every rack's addresses and segments are provisioning network, not only our own.
  const net = provisioningNetwork(inv);
  const l = ipv4Of(local);
  const onAddress = net.addresses.find((a) => l !== undefined && l === parseIPv4(a));
  if (onAddress) {
    return `not served on the provisioning address ${onAddress}: use the management address (site.api_on_provisioning)`;
  }
  const r = ipv4Of(remote);
  const subnets = net.subnets.map((s) => parseCidr(s)!);
  if (r !== undefined && subnets.some((c) => inCidr(r, c))) {
    return 'not served to the provisioning network (site.api_on_provisioning)';
  }
  return undefined;
}

export function operatorSurfaceOnly(inventory: () => Inventory) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const refusal = provisioningRefusal(inventory(), req.socket.localAddress, req.socket.remoteAddress);
    next(refusal ? new ApiError('FORBIDDEN', refusal) : undefined);
  };
}
