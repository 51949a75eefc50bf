// Racks: which segments a daemon serves and which rack each machine belongs to. Pure functions of
// the parsed inventory. With no racks named, the site is the one rack (a single daemon, SQLite or
// not) and nothing here changes what it serves.
import { inCidr, parseCidr, parseIPv4 } from '../net.js';
import type { DhcpSettings, Inventory, MachineEntry, ParsedInventory, Rack } from './schema.js';

/** The subnets a rack's DHCP serves: its local one, then the relayed ones. */
export function rackSubnets(dhcp: DhcpSettings): string[] {
  return [...(dhcp.subnet ? [dhcp.subnet] : []), ...dhcp.relayed.map((r) => r.subnet)];
}

/**
 * The rack a machine belongs to: the one it names, else the rack whose subnets hold its address,
 * else the only rack. Null without racks, or when nothing tells (validation refuses that).
 */
export function machineRack(inv: Pick<ParsedInventory, 'racks'>, m: Pick<MachineEntry, 'rack' | 'ip'>): string | null {
  if (m.rack) return m.rack;
  const names = Object.keys(inv.racks);
  if (names.length === 0) return null;
  const ip = m.ip === undefined ? undefined : parseIPv4(m.ip);
  if (ip !== undefined) {
    for (const [name, rack] of Object.entries(inv.racks)) {
      if (rackSubnets(rack.dhcp).some((s) => { const c = parseCidr(s); return c !== undefined && inCidr(ip, c); })) return name;
    }
  }
  return names.length === 1 ? names[0]! : null;
}

/** The site a rack's daemon serves: the site's settings with the rack's interface, address, HTTP and DHCP. */
export function rackSite(site: ParsedInventory['site'], rack: Rack): Inventory['site'] {
  return {
    ...site,
    interface: rack.interface,
    address: rack.address,
    http_port: rack.http_port ?? site.http_port,
    http_listen: rack.http_listen ?? site.http_listen,
    dhcp: rack.dhcp,
  };
}

/**
 * The inventory as the daemon of `rack` serves it. Without racks: the site as written (which the
 * schema then requires whole). With racks and no rack named (validate, tools): the first rack's view.
 */
export function servedInventory(parsed: ParsedInventory, rack?: string): Inventory {
  const names = Object.keys(parsed.racks);
  if (names.length === 0) {
    const { interface: iface, address, dhcp } = parsed.site;
    if (iface === undefined || address === undefined || dhcp === undefined) throw new Error('the site has no interface, address or DHCP section and no racks');
    return { ...parsed, site: { ...parsed.site, interface: iface, address, dhcp } };
  }
  const chosen = rack ?? names[0]!;
  const r = parsed.racks[chosen];
  if (!r) throw new Error(`no rack ${chosen} in the inventory (racks: ${names.join(', ')})`);
  return { ...parsed, site: rackSite(parsed.site, r) };
}

/** The racks `rack` stands in for when they fall silent (their `standby` names it). */
export function standingInFor(inv: Pick<ParsedInventory, 'racks'>, rack: string): string[] {
  return Object.entries(inv.racks).filter(([, r]) => r.standby === rack).map(([name]) => name);
}
