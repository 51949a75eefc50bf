// Pieces both modes use to build a reply: the skeleton copied from the request, boot information,
// and where the reply goes (RFC 2131 §4.1).
import type { BootDecision } from './bootfile.js';
import type { Inbound, Outbound } from './context.js';
import { MessageType, Opt, Options, decodeSubOptions, encodeSubOptions } from './options.js';
import { BOOTREPLY, DEFAULT_MAX_SIZE, type Packet } from './packet.js';

const ZERO = '0.0.0.0';
export const SERVER_PORT = 67;
export const CLIENT_PORT = 68;
export const PXE_PORT = 4011;

/** RFC 2131 §4.3.1 table 3: fields copied from the request into every reply. */
export function skeleton(req: Packet, type: number, serverId: string): Packet {
  // Option 53 first, then 54: some PXE ROMs read them in that order.
  const options = new Options().setU8(Opt.MESSAGE_TYPE, type).setIp(Opt.SERVER_ID, serverId);
  return {
    op: BOOTREPLY, htype: req.htype, hlen: req.hlen, hops: 0, xid: req.xid, secs: 0, flags: req.flags,
    ciaddr: type === MessageType.NAK ? ZERO : req.ciaddr, yiaddr: ZERO, siaddr: ZERO, giaddr: req.giaddr,
    chaddr: Buffer.from(req.chaddr), sname: '', file: '', options,
  };
}

/** Puts the boot decision into siaddr/file, and into options 66/67 when the client asked for them. */
export function addBoot(reply: Packet, req: Packet, boot: BootDecision): void {
  if (!boot.boot) return;
  reply.siaddr = boot.nextServer;
  reply.file = boot.file;
  const asked = req.options.raw(Opt.PARAM_REQUEST) ?? Buffer.alloc(0);
  if (asked.includes(Opt.TFTP_SERVER)) reply.options.setString(Opt.TFTP_SERVER, boot.nextServer);
  if (asked.includes(Opt.BOOTFILE)) reply.options.setString(Opt.BOOTFILE, boot.file);
  if (boot.vendorClass) reply.options.setString(Opt.VENDOR_CLASS, boot.vendorClass);
}

/** PXE 2.1 §2.2.1 / RFC 4578: what a PXE-aware server adds so the ROM uses the boot file as given. */
export function addPxe(reply: Packet, req: Packet, boot: BootDecision): void {
  if (!boot.boot) return;
  if (!reply.options.has(Opt.VENDOR_CLASS)) reply.options.setString(Opt.VENDOR_CLASS, 'PXEClient');
  // Sub-option 6 PXE_DISCOVERY_CONTROL = 8: no multicast/broadcast boot server discovery; load the
  // boot file named in this packet.
  reply.options.set(Opt.VENDOR_SPECIFIC, encodeSubOptions(Opt.VENDOR_SPECIFIC, new Options().setU8(6, 8)));
  const uuid = req.options.raw(Opt.CLIENT_UUID);
  if (uuid) reply.options.set(Opt.CLIENT_UUID, uuid);
}

/** RFC 3046 §2.2: the relay agent option goes back unchanged, as the last option. */
export function echoRelayAgent(reply: Packet, req: Packet): void {
  const o82 = req.options.raw(Opt.RELAY_AGENT);
  if (!o82 || req.giaddr === ZERO) return;
  decodeSubOptions(Opt.RELAY_AGENT, o82); // validated at decode; kept here as a guard
  reply.options.delete(Opt.RELAY_AGENT).set(Opt.RELAY_AGENT, o82);
}

export function maxSizeOf(req: Packet): number {
  try {
    return Math.max(req.options.u16(Opt.MAX_MESSAGE_SIZE) ?? DEFAULT_MAX_SIZE, DEFAULT_MAX_SIZE);
  } catch {
    return DEFAULT_MAX_SIZE;
  }
}

/**
 * RFC 2131 §4.1: relayed → the relay's server port; NAK → broadcast; client has an address (ciaddr)
 * → unicast to it; else broadcast. Unicast to yiaddr before the client has the address needs an ARP
 * entry we cannot add from a UDP socket, so a client without an address always gets a broadcast.
 * A PXE boot-server request on 4011 is answered to where it came from (PXE 2.1 §2.2.3).
 */
export function destination(inb: Inbound, reply: Packet): Outbound {
  const req = inb.packet;
  let address: string;
  let port: number;
  if (req.giaddr !== ZERO) { address = req.giaddr; port = SERVER_PORT; } else if (inb.port === PXE_PORT && inb.from.address !== ZERO) {
    address = inb.from.address; port = inb.from.port;
  } else if (req.ciaddr !== ZERO && reply.options.u8(Opt.MESSAGE_TYPE) !== MessageType.NAK) {
    address = req.ciaddr; port = CLIENT_PORT;
  } else {
    address = '255.255.255.255'; port = CLIENT_PORT;
  }
  return { packet: reply, maxSize: maxSizeOf(req), via: inb.port, address, port };
}
