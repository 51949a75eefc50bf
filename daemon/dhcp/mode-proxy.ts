// Proxy mode (PXE 2.1 §2.2.2–2.2.3, RFC 4578): another DHCP server assigns addresses; Rackhand only
// adds boot information. On port 67 it answers a PXE client's DISCOVER with a ProxyDHCP OFFER (no
// address, option 60 PXEClient, 43 discovery control, 54); on port 4011 it answers the client's
// boot-server REQUEST (or INFORM) with an ACK carrying the boot file. Nothing is leased.
import { decideBoot } from './bootfile.js';
import { drop, type HandleResult, type HandlerContext, type Inbound } from './context.js';
import { findMachine, recordFacts } from './mode-full.js';
import { MessageType } from './options.js';
import { PXE_PORT, addBoot, addPxe, destination, echoRelayAgent, skeleton } from './reply.js';

const ZERO = '0.0.0.0';

export async function handle(ctx: HandlerContext, inb: Inbound): Promise<HandleResult> {
  const onPxePort = inb.port === PXE_PORT;
  const answers = onPxePort
    ? inb.type === MessageType.REQUEST || inb.type === MessageType.INFORM
    : inb.type === MessageType.DISCOVER;
  // The address server handles REQUEST/DECLINE/RELEASE on 67; a proxy stays silent there.
  if (!answers) return drop('not_for_us', `proxy mode does not answer message type ${inb.type} on port ${inb.port}`);
  // PXE 2.1 §2.2.2: a ProxyDHCP server answers only PXE clients.
  if (!inb.facts.pxe) return drop('no_boot', 'not a PXE client; the address server answers it');
  const m = await findMachine(ctx, inb, true);
  if (!m) return drop('unmanaged', `MAC ${inb.mac} is not in the inventory and discovery is off`);
  const boot = decideBoot(inb.facts, ctx.settings, m);
  if (!boot.boot) return drop('no_boot', boot.reason);

  const type = onPxePort ? MessageType.ACK : MessageType.OFFER;
  const reply = skeleton(inb.packet, type, ctx.settings.serverAddress);
  reply.yiaddr = ZERO;
  addBoot(reply, inb.packet, boot);
  addPxe(reply, inb.packet, boot);
  echoRelayAgent(reply, inb.packet);
  // The address another server gave it: taken only from a datagram that came from that very
  // address (a PXE client asks port 4011 from it), never from ciaddr alone, which anyone writes.
  const ciaddr = inb.packet.ciaddr;
  recordFacts(ctx, inb, m, ciaddr !== ZERO && ciaddr === inb.from.address ? ciaddr : undefined, false);
  return { replies: [destination(inb, reply)] };
}
