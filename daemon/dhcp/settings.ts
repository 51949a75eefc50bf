// DHCP settings of one site, mapped from the inventory's plain `site` section (SPEC §9). The zod
// schema in daemon/core/inventory validates the file; this mapping checks what DHCP itself needs and
// reports every problem at once.
import { formatIPv4, inCidr, inRange, parseCidr, parseIPv4, parseRange, type Cidr, type IPv4Range } from '../core/net.js';

export type DhcpMode = 'full' | 'proxy';

export interface SubnetSettings {
  /** "10.20.0.0/24" as written. */
  name: string;
  cidr: Cidr;
  mask: string;
  router: string | undefined;
  dns: string[];
  pool: IPv4Range | undefined;
}

export interface DhcpSettings {
  interface: string;
  serverAddress: string;
  httpPort: number;
  mode: DhcpMode;
  /** The subnet of `interface` (full mode; optional in proxy mode). */
  subnet: SubnetSettings | undefined;
  relayed: SubnetSettings[];
  leaseTime: number;
  /** Seconds an OFFERed pool address is held for its client before another may get it. */
  offerHold: number;
  discovery: boolean;
  /** With discovery on: new machines enrolled per minute at most, and unaccepted ones at most. */
  discoveryLimits: { perMinute: number; maxPending: number };
  /** Percentage of each pool that machines not in the inventory may hold (offers and leases). */
  discoveredPoolPercent: number;
  /** Client arch (decimal string) → loader file or URL; overrides the built-in map. */
  bootFiles: Record<string, string>;
}

/** The plain shape of the inventory's `site` section that DHCP reads. */
export interface SiteLike {
  interface?: string;
  address?: string;
  http_port?: number;
  /** false, true, or its limits (the inventory schema parses `false` to false, anything on to the object). */
  discovery?: boolean | { enabled?: boolean; per_minute?: number; max_pending?: number };
  boot_files?: Record<string, string>;
  dhcp?: {
    mode?: string;
    subnet?: string;
    router?: string;
    dns?: string[];
    pool?: string;
    lease_time?: number;
    discovered_pool_percent?: number;
    relayed?: { subnet?: string; router?: string; dns?: string[]; pool?: string }[];
  };
}

/** The limits of `discovery: true` (the inventory schema has the same defaults). */
export const DISCOVERY_DEFAULTS = { perMinute: 10, maxPending: 50 } as const;

/** How many addresses of a pool of `size` machines outside the inventory may hold. */
export function discoveredPoolCap(size: number, percent: number): number {
  return Math.floor((size * percent) / 100);
}

export class DhcpSettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid DHCP settings:\n  ${problems.join('\n  ')}`);
  }
}

function subnet(path: string, s: { subnet?: string; router?: string; dns?: string[]; pool?: string }, problems: string[]): SubnetSettings | undefined {
  const cidr = s.subnet === undefined ? undefined : parseCidr(s.subnet);
  if (!cidr) { problems.push(`${path}.subnet: ${JSON.stringify(s.subnet)} is not a subnet like 10.20.0.0/24`); return undefined; }
  const pool = s.pool === undefined ? undefined : parseRange(s.pool);
  if (s.pool !== undefined && !pool) problems.push(`${path}.pool: ${JSON.stringify(s.pool)} is not a range like 10.20.0.100-10.20.0.199`);
  if (pool && !(inCidr(pool.start, cidr) && inCidr(pool.end, cidr))) problems.push(`${path}.pool: ${s.pool} is not inside ${s.subnet}`);
  if (pool && (inRange(cidr.first, pool) || inRange(cidr.last, pool))) problems.push(`${path}.pool: ${s.pool} includes the network or broadcast address`);
  const router = s.router;
  if (router !== undefined) {
    const r = parseIPv4(router);
    if (r === undefined || !inCidr(r, cidr)) problems.push(`${path}.router: ${router} is not an address in ${s.subnet}`);
  }
  const dns = s.dns ?? [];
  for (const [i, d] of dns.entries()) if (parseIPv4(d) === undefined) problems.push(`${path}.dns[${i}]: ${d} is not an IPv4 address`);
  return { name: s.subnet!, cidr, mask: formatIPv4(cidr.mask), router, dns, pool };
}

export function dhcpSettingsFromSite(site: SiteLike): DhcpSettings {
  const problems: string[] = [];
  const dhcp = site.dhcp ?? {};
  const mode = dhcp.mode ?? 'full';
  if (mode !== 'full' && mode !== 'proxy') problems.push(`site.dhcp.mode: ${JSON.stringify(mode)} is not full or proxy`);
  if (!site.interface) problems.push('site.interface: missing');
  const serverAddress = site.address ?? '';
  if (parseIPv4(serverAddress) === undefined) problems.push(`site.address: ${JSON.stringify(site.address)} is not an IPv4 address`);
  const httpPort = site.http_port ?? 8080;
  if (!Number.isInteger(httpPort) || httpPort < 1 || httpPort > 65535) problems.push(`site.http_port: ${httpPort} is not a port`);
  const leaseTime = dhcp.lease_time ?? 3600;
  if (!Number.isInteger(leaseTime) || leaseTime < 60) problems.push(`site.dhcp.lease_time: ${leaseTime} must be a whole number of seconds, at least 60`);

  let local: SubnetSettings | undefined;
  if (dhcp.subnet !== undefined || mode === 'full') local = subnet('site.dhcp', dhcp, problems);
  const addr = parseIPv4(serverAddress);
  if (local && addr !== undefined && !inCidr(addr, local.cidr)) problems.push(`site.address: ${serverAddress} is not in site.dhcp.subnet ${local.name}`);
  const relayed = (dhcp.relayed ?? []).map((r, i) => subnet(`site.dhcp.relayed[${i}]`, r, problems))
    .filter((s): s is SubnetSettings => s !== undefined);

  const bootFiles: Record<string, string> = {};
  for (const [arch, file] of Object.entries(site.boot_files ?? {})) {
    if (!/^\d{1,5}$/.test(arch) || Number(arch) > 65535) problems.push(`site.boot_files: key ${JSON.stringify(arch)} is not a client arch number (RFC 4578)`);
    else if (typeof file !== 'string' || file === '' || file.length > 127) problems.push(`site.boot_files.${arch}: must be a file name or URL of 1..127 characters`);
    else bootFiles[String(Number(arch))] = file;
  }
  const d = site.discovery ?? false;
  const discovery = typeof d === 'object' ? d.enabled !== false : d === true;
  const discoveryLimits: { perMinute: number; maxPending: number } = { ...DISCOVERY_DEFAULTS };
  if (typeof d === 'object') {
    if (d.per_minute !== undefined) discoveryLimits.perMinute = d.per_minute;
    if (d.max_pending !== undefined) discoveryLimits.maxPending = d.max_pending;
  }
  if (!Number.isInteger(discoveryLimits.perMinute) || discoveryLimits.perMinute < 1) problems.push(`site.discovery.per_minute: ${discoveryLimits.perMinute} must be a whole number, at least 1`);
  if (!Number.isInteger(discoveryLimits.maxPending) || discoveryLimits.maxPending < 1) problems.push(`site.discovery.max_pending: ${discoveryLimits.maxPending} must be a whole number, at least 1`);
  const discoveredPoolPercent = dhcp.discovered_pool_percent ?? 50;
  if (!Number.isInteger(discoveredPoolPercent) || discoveredPoolPercent < 0 || discoveredPoolPercent > 90) {
    problems.push(`site.dhcp.discovered_pool_percent: ${discoveredPoolPercent} must be a whole number from 0 to 90`);
  }
  if (problems.length) throw new DhcpSettingsError(problems);
  return {
    interface: site.interface!, serverAddress, httpPort, mode: mode as DhcpMode, subnet: local, relayed,
    leaseTime, offerHold: 60, discovery, discoveryLimits, discoveredPoolPercent, bootFiles,
  };
}
