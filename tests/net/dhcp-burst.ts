// Sends COUNT relayed DHCPDISCOVERs back to back (no pause: they reach the server as a few big
// batches), with one malformed datagram (a truncated header) after the first half, then counts the
// OFFERs until every client has one or WAIT ms have passed, and prints one JSON line
// {"sent", "offers", "macs"}:
//   node --import tsx tests/net/dhcp-burst.ts SERVER GIADDR COUNT [WAIT_MS]
// Clients are perfdhcpMacs(COUNT) (tests/lib/perfdhcp.ts), so the server's inventory can hold them.
import dgram from 'node:dgram';
import { MessageType, Opt, Options } from '../../daemon/dhcp/options.js';
import { chaddrFromMac, decode, encode, macOf } from '../../daemon/dhcp/packet.js';
import { perfdhcpMacs } from '../lib/perfdhcp.js';

const [server = '10.20.0.1', giaddr = '10.20.0.2', countArg = '1000', waitArg = '3000'] = process.argv.slice(2);
const macs = perfdhcpMacs(Number(countArg));
const sock = dgram.createSocket({ type: 'udp4' });
sock.on('error', () => undefined);
await new Promise<void>((r) => sock.bind(67, giaddr, r));
// The server answers a burst as fast as it can; this one process reading 1,000 OFFERs on a loaded
// host must not be what loses them (the default 208 KiB buffer holds about 150): as much as the
// host allows (net.core.rmem_max).
try { sock.setRecvBufferSize(4 << 20); } catch { /* the default, then */ }
const offered = new Set<string>();
sock.on('message', (msg) => {
  try {
    const p = decode(msg);
    if (p.options.u8(Opt.MESSAGE_TYPE) === MessageType.OFFER) offered.add(macOf(p));
  } catch { /* not ours to judge */ }
});
const discover = (mac: string, xid: number) => encode({
  op: 1, htype: 1, hlen: 6, hops: 1, xid, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0',
  giaddr, chaddr: chaddrFromMac(mac), sname: '', file: '',
  options: new Options().setU8(Opt.MESSAGE_TYPE, MessageType.DISCOVER).setString(Opt.VENDOR_CLASS, 'PXEClient:Arch:00007:UNDI:003000').setU16(Opt.CLIENT_ARCH, 7),
});
const packets = macs.map((mac, i) => discover(mac, i + 1));
packets.splice(packets.length >> 1, 0, Buffer.alloc(100, 1)); // 100 bytes: shorter than a BOOTP header
let sent = 0;
for (const p of packets) {
  // Callbacks only: no turn of the loop between sends, so the kernel queues them as one burst.
  sock.send(p, 67, server, (err) => { if (!err) sent++; });
}
const deadline = Date.now() + Number(waitArg);
while (offered.size < macs.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
sock.close();
process.stdout.write(`${JSON.stringify({ sent, offers: offered.size, macs: macs.length })}\n`);
