// Sends raw datagrams from inside a namespace and reports what came back. argv: host, port,
// then hex packets. Prints one JSON array: per packet, the hex of the first reply within
// REPLY_WAIT_MS, or null. One socket per packet, so replies cannot be confused; all are sent
// at once, so the wait for silence is paid once.
import dgram from 'node:dgram';

const [host = '127.0.0.1', portText = '69', ...packets] = process.argv.slice(2);
const waitMs = Number(process.env.REPLY_WAIT_MS ?? 500);

function exchange(hex: string): Promise<string | null> {
  const sock = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => { sock.close(); resolve(null); }, waitMs);
    sock.on('message', (m) => { clearTimeout(timer); sock.close(); resolve(m.toString('hex')); });
    sock.send(Buffer.from(hex, 'hex'), Number(portText), host);
  });
}

const replies = await Promise.all(packets.map(exchange));
process.stdout.write(`${JSON.stringify(replies)}\n`);
