// A PXE firmware's DHCP steps (PXE 2.1 §2.2), as a child process in the client namespace:
//   node --import tsx tests/net/dhcp-pxe-client.ts IFACE MAC ARCH
// DISCOVER with PXE options; collect offers for a while; take an address offer (yiaddr set) and a
// ProxyDHCP offer (PXEClient, no address); REQUEST the address from its server; then ask the proxy
// on port 4011 for the boot file. Prints one JSON line with what it ended with.
import { execFileSync } from 'node:child_process';
import { MessageType, Opt, Options } from '../../daemon/dhcp/options.js';
import { BROADCAST_FLAG, chaddrFromMac, decode, encode, type Packet } from '../../daemon/dhcp/packet.js';
import { openInterfaceSocket } from '../../daemon/dhcp/socket.js';

const [iface = 'eth0', mac = '52:54:00:00:00:01', archArg = '7'] = process.argv.slice(2);
const arch = Number(archArg);
const xid = (Math.random() * 0xffffffff) >>> 0;
const vendor = `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003000`;

function request(type: number, extra: (o: Options) => void, ciaddr = '0.0.0.0'): Buffer {
  const o = new Options().setU8(Opt.MESSAGE_TYPE, type).setU16(Opt.MAX_MESSAGE_SIZE, 1472)
    .set(Opt.PARAM_REQUEST, Buffer.from([1, 3, 6, 43, 60, 66, 67, 97]))
    .setString(Opt.VENDOR_CLASS, vendor).setU16(Opt.CLIENT_ARCH, arch).set(Opt.CLIENT_NDI, Buffer.from([1, 3, 0]))
    .set(Opt.CLIENT_UUID, Buffer.from('00' + '0123456789abcdef0123456789abcdef', 'hex'));
  extra(o);
  const p: Packet = {
    op: 1, htype: 1, hlen: 6, hops: 0, xid, secs: 0, flags: ciaddr === '0.0.0.0' ? BROADCAST_FLAG : 0, ciaddr,
    yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: chaddrFromMac(mac), sname: '', file: '', options: o,
  };
  return encode(p);
}

const sock = await openInterfaceSocket({ interface: iface, port: 68 });
const inbox: Packet[] = [];
sock.onMessage((msg) => {
  try {
    const p = decode(msg);
    if (p.op === 2 && p.xid === xid) inbox.push(p);
  } catch { /* not ours */ }
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const typeOf = (p: Packet) => p.options.u8(Opt.MESSAGE_TYPE);

async function waitFor(pred: (p: Packet) => boolean, ms: number): Promise<Packet | undefined> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const i = inbox.findIndex(pred);
    if (i >= 0) return inbox.splice(i, 1)[0];
    await sleep(20);
  }
  return undefined;
}

const result: Record<string, unknown> = {};
try {
  await sock.send(request(MessageType.DISCOVER, () => undefined), 67, '255.255.255.255');
  await sleep(1500);
  const offers = inbox.splice(0).filter((p) => typeOf(p) === MessageType.OFFER);
  const address = offers.find((p) => p.yiaddr !== '0.0.0.0');
  const proxy = offers.find((p) => p.yiaddr === '0.0.0.0' && p.options.string(Opt.VENDOR_CLASS) === 'PXEClient');
  result.offers = offers.length;
  if (!address) throw new Error('no address offer');
  if (!proxy) throw new Error('no ProxyDHCP offer');
  result.proxyServer = proxy.options.ip(Opt.SERVER_ID);
  result.proxyOfferFile = proxy.file;
  result.proxyOfferNextServer = proxy.siaddr;
  result.proxyOfferOption43 = [...(proxy.options.raw(Opt.VENDOR_SPECIFIC) ?? [])];
  await sock.send(request(MessageType.REQUEST, (o) => o.setIp(Opt.REQUESTED_IP, address.yiaddr).setIp(Opt.SERVER_ID, address.options.ip(Opt.SERVER_ID)!)), 67, '255.255.255.255');
  const ack = await waitFor((p) => typeOf(p) === MessageType.ACK, 3000);
  if (!ack) throw new Error('no ACK from the address server');
  result.ip = ack.yiaddr;
  result.addressServer = ack.options.ip(Opt.SERVER_ID);
  // With the address configured, ask the proxy's boot service on 4011 (PXE 2.1 §2.2.3).
  execFileSync('ip', ['addr', 'add', `${ack.yiaddr}/24`, 'dev', iface]);
  await sock.send(request(MessageType.REQUEST, () => undefined, ack.yiaddr), 4011, String(result.proxyServer));
  const bootAck = await waitFor((p) => typeOf(p) === MessageType.ACK, 3000);
  if (!bootAck) throw new Error('no ACK from the boot service on port 4011');
  result.bootFile = bootAck.file;
  result.bootNextServer = bootAck.siaddr;
} catch (err) {
  result.error = (err as Error).message;
} finally {
  await sock.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
