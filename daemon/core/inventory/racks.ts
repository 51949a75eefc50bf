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

/**
 * The site as this daemon serves one machine: URLs on the local address the machine reached it
 * by (the daemon's own, or its address on another rack's segment), DHCP settings (subnet,
 * router) of the machine's own rack. `localAddress` counts only if it is one of this daemon's
 * provisioning addresses; anything else (the API side) gets the daemon's own.
 */
export function siteFor(inv: Inventory, servedRack: string | null, machineRack: string | null, localAddress: string | undefined): Inventory['site'] {
  const own = inv.site;
  const secondary = servedRack ? inv.racks[servedRack]?.secondary ?? [] : [];
  const address = localAddress !== undefined && secondary.some((s) => s.address === localAddress) ? localAddress : own.address;
  const home = machineRack ? inv.racks[machineRack] : undefined;
  return { ...own, address, dhcp: home?.dhcp ?? own.dhcp };
}

/** A rack as last heard from: seconds since its heartbeat, by the store's clock. */
export interface Heard {
  name: string;
  silentFor: number;
}

/** Silent: not heard from for `silentAfter` seconds (a clean stop counts by its age too), or never. */
export function isSilent(h: Heard | undefined, silentAfter: number): boolean {
  return h === undefined || h.silentFor >= silentAfter;
}

/** What one rack's daemon does right now, given who is heard from. */
export interface RackDuties {
  /** Racks whose machines' work (power, timeouts, takeovers) this daemon does: its own first. */
  serves: string[];
  /** Racks it stands in for now (silent, and naming it their standby). */
  standingIn: string[];
  /** Secondary segments to answer DHCP on now: their primary is silent. */
  secondary: Rack['secondary'];
}

/**
 * Pure: a rack is silent when it has not been heard from for `silentAfter` seconds (stopped or
 * not), or never at all. A daemon serves its own rack always, and a silent rack's work when it
 * is that rack's standby; it answers DHCP on a secondary segment while the segment's rack is silent.
 */
export function rackDuties(inv: Pick<ParsedInventory, 'racks'>, me: string, heard: readonly Heard[], silentAfter: number): RackDuties {
  // A clean stop counts like any silence, by its age: a daemon restarted for an upgrade is back
  // before its standby would reboot its machines (the stop only lets its successor in at once).
  const silent = (rack: string) => isSilent(heard.find((h) => h.name === rack), silentAfter);
  const standingIn = standingInFor(inv, me).filter(silent);
  return {
    serves: [me, ...standingIn],
    standingIn,
    secondary: (inv.racks[me]?.secondary ?? []).filter((s) => s.rack !== me && silent(s.rack)),
  };
}

/** Every provisioning address and subnet of the fleet: the operator surface is served on none of them. */
export function provisioningNetwork(inv: Inventory): { addresses: string[]; subnets: string[] } {
  const racks = Object.values(inv.racks);
  return {
    addresses: [inv.site.address, ...racks.flatMap((r) => [r.address, ...r.secondary.map((s) => s.address)])],
    subnets: [...rackSubnets(inv.site.dhcp), ...racks.flatMap((r) => rackSubnets(r.dhcp))],
  };
}
