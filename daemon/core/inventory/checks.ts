// Checks that span fields of the inventory. They read the raw parsed YAML defensively, so they
// run even where the schema already failed, and the operator sees every problem in one pass.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { inCidr, inRange, normalizeMac, parseCidr, parseIPv4, parseRange, type Cidr, type IPv4Range } from '../net.js';
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

export function crossChecks(raw: unknown, baseDir: string): Finding[] {
  const out: Finding[] = [];
  const root = obj(raw) ?? {};
  const site = obj(root.site) ?? {};
  const dhcp = obj(site.dhcp) ?? {};
  const profiles = obj(root.profiles) ?? {};
  const machines = Array.isArray(root.machines) ? root.machines : [];

  const subnets: Subnet[] = [];
  const local = parseCidr(str(dhcp.subnet) ?? '');
  if (local) subnets.push({ cidr: local, pool: parseRange(str(dhcp.pool) ?? ''), label: str(dhcp.subnet)! });
  if (dhcp.mode === 'full' && dhcp.subnet === undefined) out.push({ path: ['site', 'dhcp'], message: 'full mode needs a subnet' });
  const serverIp = parseIPv4(str(site.address) ?? '');
  if (local && serverIp !== undefined && !inCidr(serverIp, local)) {
    out.push({ path: ['site', 'address'], message: `${site.address} is outside the DHCP subnet ${dhcp.subnet}` });
  }
  checkSubnetParts(dhcp, local, ['site', 'dhcp'], out);
  (Array.isArray(dhcp.relayed) ? dhcp.relayed : []).forEach((r, i) => {
    const rel = obj(r) ?? {};
    const c = parseCidr(str(rel.subnet) ?? '');
    if (!c) return;
    checkSubnetParts(rel, c, ['site', 'dhcp', 'relayed', i], out);
    const clash = subnets.find((s) => inCidr(s.cidr.network, c) || inCidr(c.network, s.cidr));
    if (clash) out.push({ path: ['site', 'dhcp', 'relayed', i, 'subnet'], message: `overlaps ${clash.label}` });
    subnets.push({ cidr: c, pool: parseRange(str(rel.pool) ?? ''), label: str(rel.subnet)! });
  });

  checkDiscoveredShare(site, dhcp, subnets, machines, out);

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
      if (ip === serverIp) out.push({ path: ['machines', i, 'ip'], message: `${ipText} is the server's own address (site.address)` });
      const home = subnets.find((s) => inCidr(ip, s.cidr));
      if (dhcp.mode === 'full' && subnets.length && !home) {
        out.push({ path: ['machines', i, 'ip'], message: `${ipText} is outside the DHCP subnet${subnets.length > 1 ? 's' : ''} ${subnets.map((s) => s.label).join(', ')}` });
      }
      if (home?.pool && inRange(ip, home.pool)) {
        out.push({ path: ['machines', i, 'ip'], message: `reservation ${ipText} is inside the pool of ${home.label}: a pool address could be handed to another machine` });
      }
      if (home && (ip === home.cidr.first || ip === home.cidr.last) && home.cidr.prefix < 31) {
        out.push({ path: ['machines', i, 'ip'], message: `${ipText} is the network or broadcast address of ${home.label}` });
      }
    }
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
function checkDiscoveredShare(site: Raw, dhcp: Raw, subnets: Subnet[], machines: unknown[], out: Finding[]): void {
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
      path: ['site', 'dhcp', 'discovered_pool_percent'],
      message: `with discovery on, ${percent}% of the pools may go to discovered machines, leaving ${left} addresses for ${unreserved} inventory machines without a reservation: lower it or grow the pools`,
    });
  }
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
