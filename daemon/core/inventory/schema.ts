// The shape of inventory.yaml (SPEC §9) as zod schemas. Objects are strict: a misspelt key is an
// error with its line, not a silently ignored setting. Checks that span fields (duplicates,
// subnets, pools, profile references, files) live in checks.ts, so all errors come out at once.
import { z } from 'zod';
import { normalizeMac, parseCidr, parseIPv4, parseRange } from '../net.js';
import { storeUrlProblem } from '../store/location.js';

const ipv4 = z.string().refine((s) => parseIPv4(s) !== undefined, { error: 'not an IPv4 address (a.b.c.d)' });
const cidr = z.string().refine((s) => parseCidr(s) !== undefined, { error: 'not a subnet in CIDR form with no host bits (10.20.0.0/24)' });
const range = z.string().refine((s) => parseRange(s) !== undefined, { error: 'not an address range (first-last, first ≤ last)' });
const mac = z.string().refine((s) => normalizeMac(s) !== undefined, { error: 'not a MAC address (52:54:00:12:34:56)' })
  .transform((s) => normalizeMac(s)!);
const port = z.number().int().min(1).max(65535);
/** A PostgreSQL URL, judged without connecting; the message never repeats it (it may hold a password). */
const storeUrl = z.string().refine((s) => storeUrlProblem(s) === undefined, { error: (iss) => storeUrlProblem(String(iss.input)) });
const seconds = z.number().int().positive();
// Names become hostnames, file names and URL segments: keep them to what all three accept.
const name = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { error: 'use lower-case letters, digits and inner hyphens (at most 63)' });
const relPath = z.string().min(1);
/** A DNS domain: dot-separated labels as `name` allows them, 253 characters at most. */
const dnsDomain = z.string().max(253).regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, {
  error: 'a DNS domain: lower-case labels of letters, digits and inner hyphens, separated by dots',
});
/**
 * How the agent erases disks on release. secure: the drive's own sanitize (NVMe format with
 * secure erase) or zeroes written by the device or kernel; full: zeroes written by the agent;
 * both read samples back and fail the machine unless they are zero. quick: signatures and the
 * first and last 16 MiB only, unverified: the rest of the previous tenant's data stays readable.
 */
export const ERASE_MODES = ['secure', 'full', 'quick'] as const;
const eraseMode = z.enum(ERASE_MODES, { error: (iss) => `unknown erase mode ${JSON.stringify(iss.input)}: use ${ERASE_MODES.join(', ')}` });
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, { error: 'a sha256 is 64 lower-case hex digits' });
/** One OpenSSH public key line: type, base64 key, optional comment; never a second line. */
const sshPublicKey = z.string().max(16384).regex(/^(ssh-[a-z0-9-]+|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/, {
  error: 'an OpenSSH public key line (ssh-ed25519 AAAA… comment)',
});

const relayedSubnet = z.strictObject({
  subnet: cidr,
  router: ipv4.optional(),
  dns: z.array(ipv4).optional(),
  pool: range.optional(),
});

const dhcp = z.strictObject({
  mode: z.enum(['full', 'proxy'], { error: (iss) => `unknown DHCP mode ${JSON.stringify(iss.input)}: use full or proxy` }),
  subnet: cidr.optional(),
  router: ipv4.optional(),
  dns: z.array(ipv4).optional(),
  pool: range.optional(),
  lease_time: seconds.default(3600),
  relayed: z.array(relayedSubnet).default([]),
  /**
   * At most this percentage of each pool is held (offered or leased) by machines that are not in
   * the inventory, so a flood of spoofed MACs always leaves room for inventory machines.
   */
  discovered_pool_percent: z.number().int().min(0).max(90).default(50),
});

/**
 * Discovery: `false`, `true` (the defaults below), or its settings. Parsed to `false` when off,
 * so that `if (site.discovery)` stays the test of whether it is on.
 */
const discoverySettings = z.strictObject({
  enabled: z.boolean().default(true),
  /** New machines enrolled per minute at most (the burst, too); more are dropped and counted. */
  per_minute: z.number().int().min(1).max(10_000).default(10),
  /** Discovered machines an operator has not accepted yet, at most; more are dropped and counted. */
  max_pending: z.number().int().min(1).max(100_000).default(50),
});
export type DiscoverySettings = Omit<z.output<typeof discoverySettings>, 'enabled'>;
const discovery = z.union([z.boolean(), discoverySettings]).default(false)
  .transform((d): false | DiscoverySettings => {
    if (d === false || (typeof d === 'object' && !d.enabled)) return false;
    const { per_minute, max_pending } = typeof d === 'object' ? d : discoverySettings.parse({});
    return { per_minute, max_pending };
  });

const timeouts = z.strictObject({
  inspecting: seconds.optional(),
  deploying: seconds.optional(),
  releasing: seconds.optional(),
});

/** A profile's own limits, for the states its work runs in (an installer takes longer than an image). */
const profileTimeouts = z.strictObject({
  deploying: seconds.optional(),
  releasing: seconds.optional(),
});

const interfaceName = z.string().min(1).max(15);

export const siteSchema = z.strictObject({
  /** The provisioning interface, address and DHCP: required unless `racks` names them per rack. */
  interface: interfaceName.optional(),
  address: ipv4.optional(),
  http_port: port.default(8080),
  /** Address the HTTP server listens on; defaults to every address (the API is reached from the management side). */
  http_listen: ipv4.default('0.0.0.0'),
  dhcp: dhcp.optional(),
  /** Many racks: a rack whose heartbeat is older than this is silent, and its standby takes over. */
  rack_silent_after: seconds.min(3).default(60),
  discovery,
  boot_files: z.record(z.string().regex(/^\d+$/, { error: 'keys are client architecture numbers (option 93)' }), relPath).default({}),
  timeouts: timeouts.default({}),
  /** How the agent erases disks on release (ERASE_MODES); a profile may choose its own. */
  erase: eraseMode.default('secure'),
  /** After a release erases a machine: redeploy its profile at once (true) or return it to ready. */
  auto_redeploy: z.boolean().default(false),
  /** Extra kernel arguments for the deploy agent, e.g. console=ttyS0,115200. */
  agent_args: z.string().default(''),
  /** The machines' DNS domain, for templates (site.domain): an installer's domain=, a hostname's FQDN. */
  domain: dnsDomain.default('localdomain'),
  /**
   * UEFI x86-64 machines boot Debian's signed shim and GRUB instead of iPXE (secure-boot.ts);
   * a profile or a machine may say otherwise.
   */
  secure_boot: z.boolean().default(false),
  templates_dir: relPath.default('templates'),
  images_dir: relPath.default('boot-images'),
  /**
   * Where machines, events, leases and allocations are kept: a postgresql:// URL (libpq's form),
   * overridden by `serve --store`; absent, SQLite in the state directory.
   */
  store: storeUrl.optional(),
  /** Serve the API and /metrics on site.address and to the provisioning subnets (default: no). */
  api_on_provisioning: z.boolean().default(false),
  /** Open HTTP connections at most, in total and from one source address. */
  http_connections: z.strictObject({
    max: z.number().int().positive().default(4096),
    per_source: z.number().int().positive().default(128),
  }).default({ max: 4096, per_source: 128 }),
});

const imageProfile = z.strictObject({
  kind: z.literal('image'),
  description: z.string().optional(),
  /**
   * The disk image and the sha256 of its raw (uncompressed) content, which the agent checks on
   * the disk after writing: inline, or from a file (`sha256sum` format) beside the image.
   */
  image: z.strictObject({ url: relPath, sha256: sha256.optional(), sha256_file: relPath.optional() })
    .refine((i) => (i.sha256 === undefined) !== (i.sha256_file === undefined), { error: 'give sha256 or sha256_file (one of them)' }),
  user_data: relPath.optional(),
  vendor_data: relPath.optional(),
  network_config: relPath.optional(),
  /** Public keys for the user-data's login user (templates read profile.ssh_authorized_keys). */
  ssh_authorized_keys: z.array(sshPublicKey).max(64).optional(),
  kernel_args: z.string().optional(),
  erase: eraseMode.optional(),
  secure_boot: z.boolean().optional(),
  auto_redeploy: z.boolean().optional(),
  timeouts: profileTimeouts.optional(),
});

const installerProfile = z.strictObject({
  kind: z.literal('installer'),
  description: z.string().optional(),
  kernel: relPath,
  initrd: relPath,
  cmdline: z.string(),
  answer: relPath,
  erase: eraseMode.optional(),
  secure_boot: z.boolean().optional(),
  auto_redeploy: z.boolean().optional(),
  timeouts: profileTimeouts.optional(),
});

export const profileSchema = z.discriminatedUnion('kind', [imageProfile, installerProfile], {
  error: (iss) => (iss.code === 'invalid_union' ? 'kind must be image or installer' : undefined),
});

const inlinePassword = z.never({ error: 'a BMC password is never written inline: use password_env or password_file' }).optional();
const passwordSource = { password_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(), password_file: relPath.optional() };

const ipmiPower = z.strictObject({
  driver: z.literal('ipmi'),
  address: z.string().min(1),
  port: port.default(623),
  username: z.string().min(1),
  password: inlinePassword,
  ...passwordSource,
  /** RMCP+ cipher suite; 17 negotiates fastest here; the fallback is tried when a BMC refuses it. */
  cipher_suite: z.number().int().min(0).max(17).default(17),
  fallback_cipher_suite: z.number().int().min(0).max(17).default(3),
});

const redfishPower = z.strictObject({
  driver: z.literal('redfish'),
  address: z.string().min(1),
  port: port.optional(),
  username: z.string().min(1),
  password: inlinePassword,
  ...passwordSource,
  system: z.string().optional(),
  ca_file: relPath.optional(),
  insecure: z.boolean().default(false),
  boot_mode: z.enum(['UEFI', 'Legacy']).optional(),
  /** auto: a session when the BMC offers a session service, else basic auth. */
  auth: z.enum(['auto', 'session', 'basic']).default('auto'),
});

const wolPower = z.strictObject({
  driver: z.literal('wol'),
  broadcast: ipv4.optional(),
  port: port.default(9),
  password: inlinePassword,
});

const manualPower = z.strictObject({ driver: z.literal('manual'), password: inlinePassword });

const POWER_DRIVERS = ['ipmi', 'redfish', 'wol', 'manual'];
export const powerSchema = z.discriminatedUnion('driver', [ipmiPower, redfishPower, wolPower, manualPower], {
  error: (iss) => (iss.code === 'invalid_union'
    ? `unknown power driver ${JSON.stringify((iss.input as { driver?: unknown } | undefined)?.driver)}: use ${POWER_DRIVERS.join(', ')}`
    : undefined),
});

/**
 * A rack (issue: many racks on one PostgreSQL): one daemon (`serve --rack NAME`) serving the
 * provisioning segments below, with the site's other settings. `standby` takes over its power,
 * timeout and agent work while it is silent; `secondary` lists other racks' local segments this
 * rack answers DHCP on (through its own interface and address there) while their primary is silent.
 */
const rackSchema = z.strictObject({
  interface: interfaceName,
  address: ipv4,
  http_port: port.optional(),
  http_listen: ipv4.optional(),
  dhcp,
  standby: name.optional(),
  secondary: z.array(z.strictObject({ rack: name, interface: interfaceName, address: ipv4 })).default([]),
});

export const machineSchema = z.strictObject({
  name,
  /** Its rack, when racks are named; else the rack whose subnets hold its address. */
  rack: name.optional(),
  mac,
  ip: ipv4.optional(),
  hostname: name.optional(),
  profile: z.string().optional(),
  tags: z.array(z.string().min(1)).default([]),
  power: powerSchema.default({ driver: 'manual' }),
  /** Overrides its profile's and the site's secure_boot. */
  secure_boot: z.boolean().optional(),
});

export const inventorySchema = z.strictObject({
  site: siteSchema,
  racks: z.record(name, rackSchema).default({}),
  profiles: z.record(name, profileSchema).default({}),
  machines: z.array(machineSchema).default([]),
}).superRefine((inv, ctx) => {
  if (Object.keys(inv.racks).length) return;
  for (const field of ['interface', 'address', 'dhcp'] as const) {
    if (inv.site[field] === undefined) ctx.addIssue({ code: 'custom', path: ['site', field], message: `is required (or name racks, each with its own ${field})` });
  }
});

/** The file as parsed: with racks, the site's interface, address and DHCP may be absent. */
export type ParsedInventory = z.output<typeof inventorySchema>;
export type Rack = z.output<typeof rackSchema>;
/** The site as one daemon serves it: its own rack's interface, address and DHCP filled in. */
export type Site = Omit<ParsedInventory['site'], 'interface' | 'address' | 'dhcp'> & {
  interface: string; address: string; dhcp: z.output<typeof dhcp>;
};
/** The inventory as one daemon sees it (see racks.ts `servedInventory`). */
export type Inventory = Omit<ParsedInventory, 'site'> & { site: Site };
export type DhcpSettings = z.output<typeof dhcp>;
export type Profile = z.output<typeof profileSchema>;
export type MachineEntry = z.output<typeof machineSchema>;
export type PowerEntry = z.output<typeof powerSchema>;
export const PASSWORD_SOURCES = ['password_env', 'password_file'] as const;
