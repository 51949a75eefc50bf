// Sends datagrams (hex, one per line of a file) to ADDRESS:67 from port 68, 2 ms apart:
//   node --import tsx tests/net/dhcp-send.ts FILE ADDRESS
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

const [file, address = '10.20.0.1'] = process.argv.slice(2);
const packets = readFileSync(file!, 'utf8').split('\n').filter((l) => l !== '#').map((l) => Buffer.from(l.trim(), 'hex'));
const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
await new Promise<void>((r) => sock.bind(68, r));
for (const p of packets) {
  await new Promise<void>((resolve, reject) => sock.send(p, 67, address, (err) => (err ? reject(err) : resolve())));
  await new Promise((r) => setTimeout(r, 2));
}
sock.close();
process.stdout.write(`sent ${packets.length}\n`);
