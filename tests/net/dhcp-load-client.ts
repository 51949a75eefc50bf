// A relay-style DHCP load client that remembers exactly what was ACKed, for the crash and outage tests:
//   node --import tsx tests/net/dhcp-load-client.ts SERVER GIADDR COUNT RATE [FIRST]
// Clients 02:00:00:00:HH:LL (FIRST ≤ n < FIRST + COUNT) each run DISCOVER → OFFER → REQUEST → ACK,
// started at RATE per second in turn, forever (from the second round on, each is a renewal of the
// lease it holds). Every ACK is printed at once as "ACK mac ip lease-seconds epoch-ms".
import dgram from 'node:dgram';
import { MessageType, Opt, Options } from '../../daemon/dhcp/options.js';
import { chaddrFromMac, decode, encode, macOf, type Packet } from '../../daemon/dhcp/packet.js';

const [server = '10.20.0.1', giaddr = '10.20.0.3', countArg = '1000', rateArg = '500', firstArg = '0'] = process.argv.slice(2);
const count = Number(countArg);
const first = Number(firstArg);
const rate = Number(rateArg);
export const loadMac = (n: number) => `02:00:00:00:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;

const sock = dgram.createSocket({ type: 'udp4' });
await new Promise<void>((r) => sock.bind(67, giaddr, r));

function packet(n: number, type: number, extra?: (o: Options) => void): Buffer {
  const o = new Options().setU8(Opt.MESSAGE_TYPE, type).setString(Opt.VENDOR_CLASS, 'PXEClient:Arch:00007:UNDI:003000').setU16(Opt.CLIENT_ARCH, 7);
  extra?.(o);
  const p: Packet = {
    op: 1, htype: 1, hlen: 6, hops: 1, xid: n, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0',
    giaddr, chaddr: chaddrFromMac(loadMac(n)), sname: '', file: '', options: o,
  };
  return encode(p);
}

sock.on('message', (msg) => {
  let p: Packet;
  try { p = decode(msg); } catch { return; }
  const type = p.options.u8(Opt.MESSAGE_TYPE);
  if (type === MessageType.OFFER) {
    sock.send(packet(p.xid, MessageType.REQUEST, (o) => o.setIp(Opt.REQUESTED_IP, p.yiaddr).setIp(Opt.SERVER_ID, p.options.ip(Opt.SERVER_ID)!)), 67, server);
  } else if (type === MessageType.ACK) {
    process.stdout.write(`ACK ${macOf(p)} ${p.yiaddr} ${p.options.u32(Opt.LEASE_TIME)} ${Date.now()}\n`);
  }
});

let n = first;
const tick = 10;
setInterval(() => {
  for (let i = 0; i < Math.max(1, Math.round(rate * tick / 1000)); i++) {
    sock.send(packet(n, MessageType.DISCOVER), 67, server);
    n = first + ((n - first + 1) % count);
  }
}, tick);
process.stdout.write('started\n');
