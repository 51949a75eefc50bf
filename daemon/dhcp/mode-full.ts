// Full mode: Rackhand is the DHCP server of the provisioning network (and of relayed subnets). It
// assigns each managed machine its reservation, or an address from the pool, and adds boot
// information for PXE clients. RFC 2131 §4.3 message by message.
import { inCidr, parseIPv4 } from '../core/net.js';
import type { DhcpMachine } from './backend.js';
import { decideBoot, type BootDecision } from './bootfile.js';
import { drop, type HandleResult, type HandlerContext, type Inbound } from './context.js';
import { MessageType, Opt } from './options.js';
import { BROADCAST_FLAG, type Packet } from './packet.js';
import { addBoot, destination, echoRelayAgent, skeleton } from './reply.js';
import { discoveredPoolCap, type SubnetSettings } from './settings.js';
import { DhcpError } from './errors.js';
import { answerFromDurable } from './durable-answer.js';
import { isConnectionFailure } from '../core/store/availability.js';
import { LeaseTaken } from './persist.js';

const ZERO = '0.0.0.0';

/**
 * Which subnet a request is for: the relay's (giaddr, RFC 2131 §4.3.1); for a client that already
 * has an address and talks to us directly (RENEWING, INFORM: giaddr 0, ciaddr set, §4.3.2), the
 * subnet of that address; else the local one.
 */
export function subnetFor(ctx: HandlerContext, req: Packet): SubnetSettings | undefined {
  const { subnet, relayed } = ctx.settings;
  const all = [subnet, ...relayed];
  if (req.giaddr !== ZERO) {
    const g = parseIPv4(req.giaddr)!;
    return all.find((s) => s && inCidr(g, s.cidr));
  }
  if (req.ciaddr !== ZERO) {
    const c = parseIPv4(req.ciaddr)!;
    return all.find((s) => s && inCidr(c, s.cidr)) ?? subnet;
  }
  return subnet;
}

/**
 * Whether a request came from a provisioning network: straight on the bound interface (giaddr 0;
 * the socket is bound to it), or through a relay whose giaddr is in a subnet the site serves.
 */
export function fromProvisioningNetwork(ctx: HandlerContext, req: Packet): boolean {
  if (req.giaddr === ZERO) return true;
  const g = parseIPv4(req.giaddr);
  return g !== undefined && [ctx.settings.subnet, ...ctx.settings.relayed].some((s) => s && inCidr(g, s.cidr));
}

/**
 * The machine, enrolling an unknown PXE client when discovery is on: only from a provisioning
 * network, and only within site.discovery's limits (over them: a counted drop). A discovered
 * machine still merely enrolled has its inspection started here too.
 */
export async function findMachine(ctx: HandlerContext, inb: Inbound, enrol: boolean): Promise<DhcpMachine | undefined> {
  const m = await lookUpMachine(ctx, inb, enrol);
  if (m) inb.machine = m.name;
  return m;
}

async function lookUpMachine(ctx: HandlerContext, inb: Inbound, enrol: boolean): Promise<DhcpMachine | undefined> {
  const m = await ctx.backend.machineByMac(inb.mac);
  if (!enrol || !ctx.settings.discovery || !inb.facts.pxe || !fromProvisioningNetwork(ctx, inb.packet)) return m;
  if (m && !(m.source === 'discovered' && m.state === 'enrolled')) return m;
  const where = inb.packet.giaddr === ZERO ? ctx.settings.interface : `relay ${inb.packet.giaddr}`;
  const cause = `discovered by DHCP on ${where}: inspecting`;
  if (m) return ctx.backend.enrolDiscovered(inb.mac, cause);
  if (!ctx.enrolGate) return undefined;
  const admitted = await ctx.enrolGate.admit(inb.mac, () => ctx.backend.enrolDiscovered(inb.mac, cause));
  if (!admitted.ok) throw new DhcpError(admitted.reason, 'discovery', admitted.detail);
  inb.log.info({ machine: admitted.value.name, state: admitted.value.state }, 'enrolled a discovered PXE client');
  return admitted.value;
}

/** `ip`: the address this exchange ties the machine to; `assigned` when this server gave it. */
export function recordFacts(ctx: HandlerContext, inb: Inbound, m: DhcpMachine, ip: string | undefined, assigned = true): void {
  const f = inb.facts;
  ctx.bootFacts.record(m.name, f.arch, f.vendorClass, f.userClasses.length ? f.userClasses.join(',') : undefined, ip, ctx.settings.interface, assigned);
}

function bootFor(ctx: HandlerContext, inb: Inbound, m: DhcpMachine): BootDecision {
  return decideBoot(inb.facts, ctx.settings, m);
}

/** The address this machine should have on this subnet, or why it has none. */
function addressFor(ctx: HandlerContext, inb: Inbound, m: DhcpMachine, subnet: SubnetSettings,
  reserved: ReadonlySet<string>, requested: string | undefined): { ip: string } | { none: string } {
  if (m.ip) {
    const n = parseIPv4(m.ip);
    if (n === undefined || !inCidr(n, subnet.cidr)) return { none: `reservation ${m.ip} is not in ${subnet.name}, where the request came from` };
    return { ip: m.ip };
  }
  if (!subnet.pool) return { none: `no reservation and ${subnet.name} has no pool` };
  // Machines outside the inventory share at most a part of the pool; the rest stays for inventory
  // machines without a reservation, however many MACs a flood makes up.
  const outsider = m.source === 'discovered';
  if (outsider && !ctx.leases.holdsIn(inb.mac, subnet.pool, ctx.now())) {
    const size = subnet.pool.end - subnet.pool.start + 1;
    const cap = discoveredPoolCap(size, ctx.settings.discoveredPoolPercent);
    if (ctx.leases.outsidersIn(subnet.pool, ctx.now()) >= cap) {
      throw new DhcpError('discovered_share', 'pool', `${cap} of the ${size} addresses of ${subnet.name} may go to machines outside the inventory (site.dhcp.discovered_pool_percent), and they are in use`);
    }
  }
  ctx.leases.setOutsider(inb.mac, outsider);
  const ip = ctx.leases.allocate(inb.mac, subnet.name, subnet.pool, requested, reserved, ctx.now());
  if (!ip) {
    ctx.metrics.poolExhausted.inc({ subnet: subnet.name });
    return { none: `pool of ${subnet.name} is exhausted` };
  }
  return { ip };
}

/**
 * Options of an OFFER or ACK that carries an address (RFC 2132 §3.3, §3.5, §9.2, §9.11); `lease`:
 * the lease time in seconds (false: none, for an INFORM's ACK).
 */
function addAddressOptions(ctx: HandlerContext, reply: Packet, req: Packet, m: DhcpMachine, subnet: SubnetSettings, lease: number | false): void {
  const o = reply.options;
  if (lease !== false) {
    const t = lease;
    o.setU32(Opt.LEASE_TIME, t).setU32(Opt.RENEWAL_TIME, Math.floor(t / 2)).setU32(Opt.REBINDING_TIME, Math.floor(t * 7 / 8));
  }
  o.setIp(Opt.SUBNET_MASK, subnet.mask);
  if (subnet.router) o.setIp(Opt.ROUTER, subnet.router);
  if (subnet.dns.length) o.setIps(Opt.DNS, subnet.dns);
  if (m.hostname && (req.options.raw(Opt.PARAM_REQUEST)?.includes(Opt.HOSTNAME) ?? false)) o.setString(Opt.HOSTNAME, m.hostname);
}

/** An OFFER or ACK of `ip` for `seconds`: lease options, the boot decision, option 82 echoed, facts recorded. */
function addressed(ctx: HandlerContext, inb: Inbound, type: typeof MessageType.OFFER | typeof MessageType.ACK, ip: string, m: DhcpMachine, subnet: SubnetSettings, boot: BootDecision,
  seconds = ctx.settings.leaseTime): HandleResult {
  const req = inb.packet;
  const reply = skeleton(req, type, ctx.settings.serverAddress);
  reply.yiaddr = ip;
  addAddressOptions(ctx, reply, req, m, subnet, seconds);
  addBoot(reply, req, boot);
  echoRelayAgent(reply, req);
  recordFacts(ctx, inb, m, ip);
  return { replies: [destination(inb, reply)] };
}

async function discover(ctx: HandlerContext, inb: Inbound): Promise<HandleResult> {
  const req = inb.packet;
  const subnet = subnetFor(ctx, req);
  if (!subnet) return drop('unknown_relay', `giaddr ${req.giaddr} is in no subnet served here`);
  const m = await findMachine(ctx, inb, true);
  if (!m) return drop('unmanaged', `MAC ${inb.mac} is not in the inventory and discovery is off`);
  const boot = bootFor(ctx, inb, m);
  // SPEC §3.1: a PXE client we have no loader for is not answered at all; an OS client gets an address.
  if (!boot.boot && inb.facts.pxe) return drop('no_boot', boot.reason);
  const reserved = await ctx.backend.reservedIps();
  const addr = addressFor(ctx, inb, m, subnet, reserved, req.options.ip(Opt.REQUESTED_IP));
  if ('none' in addr) return drop('no_address', addr.none);
  let seconds = ctx.settings.leaseTime;
  if (!storeUp(ctx)) {
    // Offer only what the REQUEST could be ACKed with (durable-answer.ts).
    const durable = answerFromDurable(ctx.leases.durable(inb.mac), inb.mac, addr.ip, ctx.now());
    if (!durable.answer) return drop('store_unavailable', durable.why);
    seconds = durable.seconds;
  }
  if (!m.ip) ctx.leases.hold(inb.mac, addr.ip, ctx.now() + ctx.settings.offerHold * 1000);
  return addressed(ctx, inb, MessageType.OFFER, addr.ip, m, subnet, boot, seconds);
}

const storeUp = (ctx: HandlerContext) => ctx.backend.storeAvailable?.() ?? true;

/** The store is away: an ACK of what is already durable, for the time it has left, or silence. */
function ackFromDurable(ctx: HandlerContext, inb: Inbound, ip: string, m: DhcpMachine, subnet: SubnetSettings, boot: BootDecision): HandleResult {
  const durable = answerFromDurable(ctx.leases.durable(inb.mac), inb.mac, ip, ctx.now());
  if (!durable.answer) return drop('store_unavailable', durable.why);
  ctx.leases.release(inb.mac);
  return addressed(ctx, inb, MessageType.ACK, ip, m, subnet, boot, durable.seconds);
}

function nak(ctx: HandlerContext, inb: Inbound, message: string): HandleResult {
  const reply = skeleton(inb.packet, MessageType.NAK, ctx.settings.serverAddress);
  reply.options.setString(Opt.MESSAGE, message);
  // RFC 2131 §4.3.2: a NAK through a relay has the broadcast bit set, the client having no address.
  if (inb.packet.giaddr !== ZERO) reply.flags |= BROADCAST_FLAG;
  echoRelayAgent(reply, inb.packet);
  inb.log.info({ reason: message }, 'DHCPNAK');
  return { replies: [destination(inb, reply)] };
}

async function request(ctx: HandlerContext, inb: Inbound): Promise<HandleResult> {
  const req = inb.packet;
  const serverId = req.options.ip(Opt.SERVER_ID);
  // RFC 2131 §4.3.2: a REQUEST naming another server means the client took that server's offer.
  if (serverId !== undefined && serverId !== ctx.settings.serverAddress) {
    ctx.leases.release(inb.mac);
    return drop('not_for_us', `client chose server ${serverId}`);
  }
  const subnet = subnetFor(ctx, req);
  if (!subnet) return drop('unknown_relay', `giaddr ${req.giaddr} is in no subnet served here`);
  const m = await findMachine(ctx, inb, false);
  // Not ours to NAK: another server may own this client (RFC 2131 §4.3.2, "remain silent").
  if (!m) return drop('unmanaged', `MAC ${inb.mac} is not in the inventory`);
  const boot = bootFor(ctx, inb, m);
  if (!boot.boot && inb.facts.pxe) return drop('no_boot', boot.reason);
  // SELECTING and INIT-REBOOT carry option 50; RENEWING and REBINDING carry ciaddr.
  const requested = req.options.ip(Opt.REQUESTED_IP) ?? (req.ciaddr !== ZERO ? req.ciaddr : undefined);
  if (!requested) return nak(ctx, inb, 'no requested address (option 50) and no ciaddr');
  const reqN = parseIPv4(requested)!;
  if (!inCidr(reqN, subnet.cidr)) return nak(ctx, inb, `${requested} is not on ${subnet.name}`);
  const reserved = await ctx.backend.reservedIps();
  const addr = addressFor(ctx, inb, m, subnet, reserved, requested);
  if ('none' in addr) return serverId ? nak(ctx, inb, addr.none) : drop('no_address', addr.none);
  if (addr.ip !== requested) return nak(ctx, inb, `${requested} is not the address of ${inb.mac}; it is ${addr.ip}`);

  // Known to be away: no write is tried (it would only fail, or wait out the connect timeout).
  if (!storeUp(ctx)) return ackFromDurable(ctx, inb, addr.ip, m, subnet, boot);
  const now = ctx.now();
  const lease = {
    mac: inb.mac, ip: addr.ip, state: 'bound' as const, expiresAt: now + ctx.settings.leaseTime * 1000,
    hostname: m.hostname || null, machine: m.name, updatedAt: now,
  };
  ctx.leases.set(lease);
  ctx.leases.release(inb.mac);
  // SPEC §8: the lease is on disk before the client hears it is bound.
  try {
    await ctx.writer.persist(lease);
  } catch (err) {
    // The store went away under this write: it promised nothing, what was written before still holds.
    if (isConnectionFailure(err)) return ackFromDurable(ctx, inb, addr.ip, m, subnet, boot);
    // Another daemon leased this address meanwhile: its client keeps it; this one starts over.
    if (err instanceof LeaseTaken) {
      ctx.leases.set(err.holder);
      ctx.leases.markDurable(err.holder);
      inb.log.warn({ ip: addr.ip, holder: err.holder.mac }, err.message);
      // The client hears only that the address is taken, not by whom.
      return nak(ctx, inb, `${addr.ip} is leased to another client`);
    }
    throw err;
  }
  // The lease runs from before its write: a slow commit must not make the ACK promise time past
  // the expiry on disk, so the ACK counts what is left of it now.
  const left = Math.min(ctx.settings.leaseTime, Math.floor((lease.expiresAt - ctx.now()) / 1000));
  return addressed(ctx, inb, MessageType.ACK, addr.ip, m, subnet, boot, left);
}

/** RFC 2131 §4.3.3: the client found the address in use; keep it out of the pool. */
async function decline(ctx: HandlerContext, inb: Inbound): Promise<HandleResult> {
  const req = inb.packet;
  const serverId = req.options.ip(Opt.SERVER_ID);
  if (serverId !== ctx.settings.serverAddress) return drop('not_for_us', `DECLINE for server ${serverId ?? 'none'}`);
  const ip = req.options.ip(Opt.REQUESTED_IP);
  if (!ip) return drop('option_size', 'DECLINE without option 50');
  const now = ctx.now();
  const lease = ctx.leases.get(inb.mac);
  ctx.leases.decline(ip, now + ctx.settings.leaseTime * 1000);
  if (lease?.ip === ip) await ctx.backend.deleteLease(inb.mac);
  inb.log.warn({ ip }, 'client declined an address: something else uses it; held out of the pool');
  return { replies: [] };
}

/** RFC 2131 §4.3.4: the client gives the address back; it stays associated for reuse by the same client. */
async function release(ctx: HandlerContext, inb: Inbound): Promise<HandleResult> {
  const lease = ctx.leases.get(inb.mac);
  if (!lease || lease.ip !== inb.packet.ciaddr) return { replies: [] };
  const now = ctx.now();
  const released = { ...lease, state: 'released' as const, expiresAt: now, updatedAt: now };
  ctx.leases.set(released);
  await ctx.writer.persist(released);
  return { replies: [] };
}

/** RFC 2131 §4.3.5: configuration only, no address and no lease time, to ciaddr. */
async function inform(ctx: HandlerContext, inb: Inbound): Promise<HandleResult> {
  const req = inb.packet;
  const subnet = subnetFor(ctx, req);
  if (!subnet) return drop('unknown_relay', `giaddr ${req.giaddr} is in no subnet served here`);
  const m = await findMachine(ctx, inb, false);
  if (!m) return drop('unmanaged', `MAC ${inb.mac} is not in the inventory`);
  const reply = skeleton(req, MessageType.ACK, ctx.settings.serverAddress);
  addAddressOptions(ctx, reply, req, m, subnet, false);
  addBoot(reply, req, bootFor(ctx, inb, m));
  echoRelayAgent(reply, req);
  // ciaddr is whatever the sender wrote: it is recorded only when it is the address this server
  // gave the machine, so a message claiming another machine's MAC cannot move its address.
  const assigned = m.ip ?? ctx.leases.get(inb.mac)?.ip;
  recordFacts(ctx, inb, m, req.ciaddr !== ZERO && req.ciaddr === assigned ? req.ciaddr : undefined);
  return { replies: [destination(inb, reply)] };
}

export async function handle(ctx: HandlerContext, inb: Inbound): Promise<HandleResult> {
  switch (inb.type) {
    case MessageType.DISCOVER: return discover(ctx, inb);
    case MessageType.REQUEST: return request(ctx, inb);
    case MessageType.DECLINE: return decline(ctx, inb);
    case MessageType.RELEASE: return release(ctx, inb);
    case MessageType.INFORM: return inform(ctx, inb);
    default: return drop('bad_message_type', `option 53 is ${inb.type}, not a client message`);
  }
}
