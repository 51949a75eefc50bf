// Rendering a machine's templates for its operation: the profile it is being deployed with,
// the template context (URLs carry the operation's token), and the network-config default.
import type { LoadedInventory } from '../core/inventory/load.js';
import type { Request } from 'express';
import type { Profile, Site } from '../core/inventory/schema.js';
import { siteFor } from '../core/inventory/racks.js';
import { machineProfile } from '../core/inventory/machine-profile.js';
import type { MachineRecord, OperationRecord } from '../core/store/types.js';
import { buildContext, render, templateEnv, type TemplateContext } from '../core/templates.js';
import { parseCidr } from '../core/net.js';

export function profileOf(machine: MachineRecord, loaded: LoadedInventory): { name: string; profile: Profile } | undefined {
  return machineProfile(loaded.inventory, machine);
}

/**
 * The site as this daemon serves `machine` over `req`: URLs on the address the machine reached
 * us by (ours, or ours on another rack's segment while standing in), its own rack's DHCP settings.
 */
export function siteOf(req: Request, loaded: LoadedInventory, machine: Pick<MachineRecord, 'rack'> | undefined): Site {
  const local = req.socket.localAddress?.replace(/^::ffff:/i, '');
  return siteFor(loaded.inventory, loaded.rack, machine?.rack ?? null, local);
}

export function contextFor(machine: MachineRecord, op: OperationRecord, loaded: LoadedInventory, site: Site): TemplateContext | undefined {
  const p = profileOf(machine, loaded);
  if (!p) return undefined;
  return buildContext({
    machine: {
      name: machine.name, mac: machine.mac, ip: machine.ip, hostname: machine.hostname,
      tags: machine.tags, owner: machine.owner, facts: machine.facts ?? {},
    },
    profileName: p.name, profile: p.profile, site, token: op.token, instanceId: op.id,
  });
}

export function renderFile(loaded: LoadedInventory, file: string, ctx: TemplateContext): string {
  return render(templateEnv(loaded.templatesDir), file, ctx);
}

/**
 * cloud-init network-config v2 when the profile has none: the NIC matched by MAC, with the
 * reserved address (or DHCP without one), the site's router and DNS.
 */
export function defaultNetworkConfig(machine: MachineRecord, site: Site): string {
  const { dhcp } = site;
  const lines = ['version: 2', 'ethernets:', '  prov:', '    match:', `      macaddress: "${machine.mac}"`];
  const subnet = dhcp.subnet ? parseCidr(dhcp.subnet) : undefined;
  if (machine.ip && subnet && dhcp.mode === 'full') {
    lines.push('    dhcp4: false', `    addresses: ["${machine.ip}/${subnet.prefix}"]`);
    // 0.0.0.0/0, not `default`: cloud-init before 23.1 (Debian 12 has 22.4) refuses `to: default`
    // ("Address default is not a valid ip address") and then configures no network at all.
    if (dhcp.router) lines.push('    routes:', '      - to: 0.0.0.0/0', `        via: ${dhcp.router}`);
    if (dhcp.dns?.length) lines.push('    nameservers:', `      addresses: [${dhcp.dns.join(', ')}]`);
  } else {
    lines.push('    dhcp4: true');
  }
  return lines.join('\n') + '\n';
}
