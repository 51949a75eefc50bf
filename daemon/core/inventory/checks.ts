// Checks that span fields of the inventory. They read the raw parsed YAML defensively, so they
// run even where the schema already failed, and the operator sees every problem in one pass.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatIPv4, inCidr, inRange, normalizeMac, parseCidr, parseIPv4, parseRange, type Cidr, type IPv4Range } from '../net.js';
import type { PathItem } from './locate.js';

export interface Finding {
  path: PathItem[];
  message: string;
  /** Point at the key rather than the value (e.g. a duplicate name). */
  atKey?: boolean;
}

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

interface Subnet {
  cidr: Cidr;
  pool?: IPv4Range;
  label: string;
}

/** Template fields of each profile kind, relative to the templates directory. */
export const TEMPLATE_FIELDS = ['user_data', 'vendor_data', 'network_config', 'answer'] as const;

/** One daemon's provisioning segments: the site's (no racks), or one rack's. */
interface Segments {
  at: PathItem[];
  /** The rack's name; undefined for the site. */
  rack?: string;
  section: Raw;
  dhcp: Raw;
  serverIp?: number;
  subnets: Subnet[];
}

export function crossChecks(raw: unknown, baseDir: string): Finding[] {
  const out: Finding[] = [];
  const root = obj(raw) ?? {};
  const site = obj(root.site) ?? {};
  const racks = obj(root.racks) ?? {};
  const profiles = obj(root.profiles) ?? {};
  const machines = Array.isArray(root.machines) ? root.machines : [];

  const all: Subnet[] = [];
  const sections: Segments[] = [];
  const racked = Object.keys(racks).length > 0;
  if (racked) {
    for (const field of ['interface', 'address', 'dhcp']) {
      if (site[field] !== undefined) out.push({ path: ['site', field], message: `with racks, each rack names its own ${field}: remove it here`, atKey: true });
    }
    for (const [name, r] of Object.entries(racks)) sections.push(segmentsOf(obj(r) ?? {}, ['racks', name], all, out, name));
    checkRackLinks(racks, out);
  } else {
    sections.push(segmentsOf(site, ['site'], all, out));
  }
  for (const seg of sections) checkDiscoveredShare(site, seg, racked ? machines.filter((m) => rackOfRaw(obj(m) ?? {}, racks, sections) === seg.rack) : machines, out);
  const servers = new Map(sections.filter((s) => s.serverIp !== undefined).map((s) => [s.serverIp!, s.at]));
  const fullMode = sections.some((s) => s.dhcp.mode === 'full');

  const templatesDir = resolve(baseDir, str(site.templates_dir) ?? 'templates');
  for (const [pname, p] of Object.entries(profiles)) {
    const profile = obj(p) ?? {};
    for (const field of TEMPLATE_FIELDS) {
      const file = str(profile[field]);
      if (file !== undefined && !isFile(resolve(templatesDir, file))) {
        out.push({ path: ['profiles', pname, field], message: `template ${file} does not exist in ${templatesDir}` });
      }
    }
  }

  const seen = { name: new Map<string, number>(), mac: new Map<string, number>(), ip: new Map<string, number>() };
  machines.forEach((m, i) => {
    const entry = obj(m) ?? {};
    const name = str(entry.name);
    const mac = normalizeMac(str(entry.mac) ?? '');
    const ipText = str(entry.ip);
    const ip = parseIPv4(ipText ?? '');
    for (const [field, key] of [['name', name], ['mac', mac], ['ip', ip === undefined ? undefined : ipText]] as const) {
      if (key === undefined) continue;
      const first = seen[field].get(key);
      if (first !== undefined) out.push({ path: ['machines', i, field], message: `duplicate ${field} ${key}: also machines[${first}]` });
      else seen[field].set(key, i);
    }
    if (ip !== undefined) {
      const server = servers.get(ip);
      if (server) out.push({ path: ['machines', i, 'ip'], message: `${ipText} is the server's own address (${server.join('.')}.address)` });
      const home = all.find((s) => inCidr(ip, s.cidr));
      if (fullMode && all.length && !home) {
        out.push({ path: ['machines', i, 'ip'], message: `${ipText} is outside the DHCP subnet${all.length > 1 ? 's' : ''} ${all.map((s) => s.label).join(', ')}` });
      }
      if (home?.pool && inRange(ip, home.pool)) {
        out.push({ path: ['machines', i, 'ip'], message: `reservation ${ipText} is inside the pool of ${home.label}: a pool address could be handed to another machine` });
      }
      if (home && (ip === home.cidr.first || ip === home.cidr.last) && home.cidr.prefix < 31) {
        out.push({ path: ['machines', i, 'ip'], message: `${ipText} is the network or broadcast address of ${home.label}` });
      }
    }
    checkMachineRack(entry, i, racks, sections, out);
    const profile = str(entry.profile);
    if (profile !== undefined && !(profile in profiles)) {
      const known = Object.keys(profiles);
      out.push({ path: ['machines', i, 'profile'], message: `profile ${profile} does not exist${known.length ? ` (profiles: ${known.join(', ')})` : ''}` });
    }
    const power = obj(entry.power);
    if (power && (power.driver === 'ipmi' || power.driver === 'redfish') && power.password_env === undefined && power.password_file === undefined) {
      out.push({ path: ['machines', i, 'power'], message: `the ${power.driver} driver needs password_env or password_file` });
    }
    if (power && power.password_env !== undefined && power.password_file !== undefined) {
      out.push({ path: ['machines', i, 'power', 'password_file'], message: 'give password_env or password_file, not both' });
    }
  });
  return out;
}

/**
 * With discovery on, machines outside the inventory may hold `discovered_pool_percent` of each
 * pool: what is left must still hold every inventory machine without a reservation, or a flood of
 * spoofed MACs could leave one of them without an address.
 */
function checkDiscoveredShare(site: Raw, seg: Segments, machines: unknown[], out: Finding[]): void {
  const { dhcp, subnets } = seg;
  const d = site.discovery;
  const on = d === true || (obj(d) !== undefined && obj(d)!.enabled !== false);
  const percent = typeof dhcp.discovered_pool_percent === 'number' ? dhcp.discovered_pool_percent : 50;
  if (!on || dhcp.mode !== 'full') return;
  const left = subnets.reduce((n, s) => {
    if (!s.pool) return n;
    const size = s.pool.end - s.pool.start + 1;
    return n + size - Math.floor((size * percent) / 100);
  }, 0);
  const unreserved = machines.filter((m) => str(obj(m)?.ip) === undefined).length;
  if (unreserved > left) {
    out.push({
      path: [...seg.at, 'dhcp', 'discovered_pool_percent'],
      message: `with discovery on, ${percent}% of the pools may go to discovered machines, leaving ${left} addresses for ${unreserved} inventory machines without a reservation: lower it or grow the pools`,
    });
  }
}

/** A section's subnets (checked, and added to `all`, where no two may overlap) and its server address. */
function segmentsOf(section: Raw, at: PathItem[], all: Subnet[], out: Finding[], rack?: string): Segments {
  const dhcp = obj(section.dhcp) ?? {};
  const seg: Segments = { at, rack, section, dhcp, subnets: [], serverIp: parseIPv4(str(section.address) ?? '') };
  const add = (c: Cidr, pool: unknown, label: string, path: PathItem[]) => {
    const clash = all.find((s) => inCidr(s.cidr.network, c) || inCidr(c.network, s.cidr));
    if (clash) out.push({ path, message: `overlaps ${clash.label}` });
    const subnet = { cidr: c, pool: parseRange(str(pool) ?? ''), label: rack ? `${label} (rack ${rack})` : label };
    all.push(subnet);
    seg.subnets.push(subnet);
  };
  const local = parseCidr(str(dhcp.subnet) ?? '');
  if (dhcp.mode === 'full' && dhcp.subnet === undefined) out.push({ path: [...at, 'dhcp'], message: 'full mode needs a subnet' });
  if (local && seg.serverIp !== undefined && !inCidr(seg.serverIp, local)) {
    out.push({ path: [...at, 'address'], message: `${section.address} is outside the DHCP subnet ${dhcp.subnet}` });
  }
  checkSubnetParts(dhcp, local, [...at, 'dhcp'], out);
  if (local) add(local, dhcp.pool, str(dhcp.subnet)!, [...at, 'dhcp', 'subnet']);
  (Array.isArray(dhcp.relayed) ? dhcp.relayed : []).forEach((r, i) => {
    const rel = obj(r) ?? {};
    const c = parseCidr(str(rel.subnet) ?? '');
    if (!c) return;
    checkSubnetParts(rel, c, [...at, 'dhcp', 'relayed', i], out);
    add(c, rel.pool, str(rel.subnet)!, [...at, 'dhcp', 'relayed', i, 'subnet']);
  });
  return seg;
}

/** A rack's standby and secondary segments name other racks, and a secondary address sits in that rack's subnet. */
function checkRackLinks(racks: Raw, out: Finding[]): void {
  const names = Object.keys(racks);
  for (const [name, r] of Object.entries(racks)) {
    const rack = obj(r) ?? {};
    const standby = str(rack.standby);
    if (standby !== undefined && standby === name) out.push({ path: ['racks', name, 'standby'], message: 'a rack cannot stand in for itself' });
    else if (standby !== undefined && !names.includes(standby)) out.push({ path: ['racks', name, 'standby'], message: `no rack ${standby} (racks: ${names.join(', ')})` });
    (Array.isArray(rack.secondary) ? rack.secondary : []).forEach((e, i) => {
      const entry = obj(e) ?? {};
      const other = str(entry.rack);
      if (other === undefined) return;
      if (other === name) out.push({ path: ['racks', name, 'secondary', i, 'rack'], message: 'a rack is already primary for its own segments' });
      else if (!names.includes(other)) out.push({ path: ['racks', name, 'secondary', i, 'rack'], message: `no rack ${other} (racks: ${names.join(', ')})` });
      const subnet = parseCidr(str(obj(obj(racks[other ?? ''])?.dhcp)?.subnet) ?? '');
      const ip = parseIPv4(str(entry.address) ?? '');
      if (subnet && ip !== undefined && !inCidr(ip, subnet)) {
        out.push({ path: ['racks', name, 'secondary', i, 'address'], message: `${entry.address} is outside rack ${other}'s subnet ${formatCidr(subnet)}` });
      }
    });
  }
}

/** The rack a raw machine entry lands in (as racks.ts machineRack decides, on raw YAML). */
function rackOfRaw(entry: Raw, racks: Raw, sections: Segments[]): string | undefined {
  const named = str(entry.rack);
  if (named !== undefined) return named;
  const ip = parseIPv4(str(entry.ip) ?? '');
  const home = ip === undefined ? undefined : sections.find((s) => s.subnets.some((n) => inCidr(ip, n.cidr)));
  if (home) return home.rack;
  const names = Object.keys(racks);
  return names.length === 1 ? names[0] : undefined;
}

function checkMachineRack(entry: Raw, i: number, racks: Raw, sections: Segments[], out: Finding[]): void {
  const names = Object.keys(racks);
  const named = str(entry.rack);
  if (named !== undefined && !names.length) {
    out.push({ path: ['machines', i, 'rack'], message: 'this inventory names no racks' });
    return;
  }
  if (!names.length) return;
  if (named !== undefined && !names.includes(named)) {
    out.push({ path: ['machines', i, 'rack'], message: `no rack ${named} (racks: ${names.join(', ')})` });
    return;
  }
  const ip = parseIPv4(str(entry.ip) ?? '');
  const home = ip === undefined ? undefined : sections.find((s) => s.subnets.some((n) => inCidr(ip, n.cidr)));
  if (named !== undefined && home?.rack !== undefined && home.rack !== named) {
    out.push({ path: ['machines', i, 'rack'], message: `${entry.ip} is in rack ${home.rack}'s subnets, not rack ${named}'s` });
  }
  if (rackOfRaw(entry, racks, sections) === undefined) {
    out.push({ path: ['machines', i], message: `which rack? give rack (${names.join(', ')}) or an ip in one of their subnets` });
  }
}

function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.network)}/${c.prefix}`;
}

function checkSubnetParts(section: Raw, c: Cidr | undefined, at: PathItem[], out: Finding[]): void {
  if (!c) return;
  const router = parseIPv4(str(section.router) ?? '');
  if (router !== undefined && !inCidr(router, c)) out.push({ path: [...at, 'router'], message: `${section.router} is outside ${section.subnet}` });
  const pool = parseRange(str(section.pool) ?? '');
  if (pool && !(inCidr(pool.start, c) && inCidr(pool.end, c))) {
    out.push({ path: [...at, 'pool'], message: `${section.pool} is not inside ${section.subnet}` });
  }
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}
