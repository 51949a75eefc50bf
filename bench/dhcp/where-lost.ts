// Where the exchanges lost at a fixed rate went: perfdhcp against Rackhand (as bench/dhcp runs it),
// then the kernel's UDP counters of both namespaces and the server's event-loop delay over the
// measured period. A server that answered every request shows its UdpOutDatagrams equal to its
// UdpInDatagrams; drops counted as the client namespace's UdpRcvbufErrors are perfdhcp's own
// receive buffer overflowing on a burst of replies (BENCHMARKS.md, bench/dhcp, session 8).
//   node --import tsx bench/dhcp/where-lost.ts [--rate 12000] [--seconds 5]     (as root)
import { twoHostLink, tryExec, type Netns } from '../../tests/lib/netns.js';
import { perfdhcp, perfdhcpMacs } from '../../tests/lib/perfdhcp.js';
import { removableTempDir } from '../../tests/lib/tmp.js';
import { startServer } from '../../tests/lib/dhcp-server.js';
import { RACKHAND_SITE, SERVER_ADDRESS } from './peers.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const RATE = Number(arg('rate', '12000'));
const SECONDS = Number(arg('seconds', '5'));
const CLIENTS = 5000;

/** UDP counters of a namespace since it was made (the warm-up included). */
async function udpCounters(ns: Netns): Promise<string> {
  const out = (await tryExec(ns, 'nstat', ['-az'], 10_000)).stdout;
  return out.split('\n').filter((l) => /^Udp(InDatagrams|OutDatagrams|InErrors|RcvbufErrors|SndbufErrors)\s/.test(l))
    .map((l) => l.trim().split(/\s+/).slice(0, 2).join(' ')).join(', ');
}

const tmp = removableTempDir('where-lost');
const link = await twoHostLink({ tag: 'wlost', serverIf: 'prov0', serverAddress: SERVER_ADDRESS, prefixLength: 16, clientAddress: '10.20.0.2' });
try {
  const server = await startServer(link.server, tmp.dir, { site: RACKHAND_SITE, machines: perfdhcpMacs(CLIENTS).map((mac, i) => ({ name: `perf-${i}`, mac })) }, { prefix: ['taskset', '-c', '0'] });
  try {
    const go = (rate: number, seconds: number) => perfdhcp(link.client, { local: '10.20.0.2', server: SERVER_ADDRESS, clients: CLIENTS, rate, seconds, prefix: ['taskset', '-c', '1'] });
    for (let i = 0; i < 30 && (await go(50, 1)).acksReceived === 0; i++) { /* until it answers */ }
    await go(1000, Math.ceil(CLIENTS / 1000));
    server.child.stdin!.write('reset\n');
    const r = await go(RATE, SECONDS);
    const m = await server.metrics();
    console.log(`perfdhcp at ${RATE}/s for ${SECONDS} s: ${r.discoverSent} DISCOVERs, ${r.offersReceived} OFFERs, ${r.acksReceived} ACKs, ${r.drops} lost`);
    console.log(`server namespace, since it was made: ${await udpCounters(link.server)}`);
    console.log(`client namespace, since it was made: ${await udpCounters(link.client)}`);
    console.log(`server event loop delay over the period: max ${m['eventloop_delay_max_ms']!.toFixed(1)} ms, p99 ${m['eventloop_delay_p99_ms']!.toFixed(1)} ms`);
  } finally {
    await server.stop();
  }
} finally {
  await link.close();
  tmp.remove();
}
