// An attacker's client for connection-cap tests: opens COUNT TCP connections to HOST:PORT from
// FROM and sends nothing on them. Prints one JSON line once settled — how many the server
// accepted and kept, and how many it closed — then holds the survivors until stdin closes.
// usage: idle-flood.ts HOST PORT FROM COUNT
import { connect, type Socket } from 'node:net';

const [host, port, from, count] = process.argv.slice(2);
const sockets: Socket[] = [];
let closed = 0;
let failed = 0;
for (let i = 0; i < Number(count); i++) {
  const s = connect({ host: host!, port: Number(port), localAddress: from });
  s.on('error', () => { failed++; });
  s.on('close', () => { closed++; });
  sockets.push(s);
}
// Long enough for every handshake and every refusal to land, short against headersTimeout.
setTimeout(() => {
  process.stdout.write(JSON.stringify({ opened: sockets.length, open: sockets.length - closed, closed, failed }) + '\n');
}, 2000);
process.stdin.on('end', () => { for (const s of sockets) s.destroy(); process.exit(0); });
process.stdin.resume();
