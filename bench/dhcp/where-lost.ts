// Where the exchanges lost at a fixed rate went: perfdhcp against one server (as bench/dhcp runs
// both), then the kernel's UDP counters of both namespaces, perfdhcp's CPU, and for Rackhand its
// event-loop delay and garbage collections over the measured period. A server that answered every
// request shows its UdpOutDatagrams equal to its UdpInDatagrams; UdpRcvbufErrors in the client's
// namespace are perfdhcp's own receive buffer overflowing on a burst of replies, in the server's
// namespace the server not reading fast enough (BENCHMARKS.md, bench/dhcp, sessions 8 and 9).
//   node --import tsx bench/dhcp/where-lost.ts [--rate 12000] [--seconds 5] [--server rackhand|rackhand-dgram|kea|dnsmasq]     (as root)
import { parseArgs } from 'node:util';
import { twoHostLink, tryExec, type Netns } from '../../tests/lib/netns.js';
import { perfdhcp, perfdhcpMacs } from '../../tests/lib/perfdhcp.js';
import { removableTempDir } from '../../tests/lib/tmp.js';
import { startServer } from '../../tests/lib/dhcp-server.js';
import { BENCH_NODE_ARGS } from '../node-args.js';
import { PERFDHCP_CLIENT, RACKHAND_SITE, SERVER_ADDRESS, startPeer, type PeerName } from './peers.js';

const { values: args } = parseArgs({ options: {
  rate: { type: 'string', default: '12000' }, seconds: { type: 'string', default: '5' }, server: { type: 'string', default: 'rackhand' },
} });
const SERVERS: readonly PeerName[] = ['rackhand', 'rackhand-dgram', 'kea', 'dnsmasq'];
if (!SERVERS.includes(args.server as PeerName)) throw new Error(`--server is '${args.server}': one of ${SERVERS.join(', ')}`);
const SERVER = args.server as PeerName;
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const CLIENTS = 5000;

/** UDP counters of a namespace since it was made (the warm-up included). */
async function udpCounters(ns: Netns): Promise<string> {
  const out = (await tryExec(ns, 'nstat', ['-az'], 10_000)).stdout;
  return out.split('\n').filter((l) => /^Udp(InDatagrams|OutDatagrams|InErrors|RcvbufErrors|SndbufErrors)\s/.test(l))
    .map((l) => l.trim().split(/\s+/).slice(0, 2).join(' ')).join(', ');
}

/** Rackhand as the test child (its event loop's delay and its collections over the period are told), or a peer as run.ts starts it. */
async function start(ns: Netns, dir: string): Promise<{ stop(): Promise<void>; reset(): void; report(): Promise<string[]> }> {
  if (SERVER !== 'rackhand') {
    // rackhand-dgram too: the counters and perfdhcp's CPU, not the loop's figures.
    const peer = await startPeer(SERVER, ns, dir, { clients: CLIENTS, core: '0' });
    return { stop: () => peer.stop(), reset() {}, report: async () => [] };
  }
  const server = await startServer(ns, dir, { site: RACKHAND_SITE, machines: perfdhcpMacs(CLIENTS).map((mac, i) => ({ name: `perf-${i}`, mac })) }, {
    prefix: ['taskset', '-c', '0'],
    nodeArgs: BENCH_NODE_ARGS,
  });
  return {
    stop: () => server.stop(),
    reset: () => server.child.stdin!.write('reset\n'),
    async report() {
      const m = await server.metrics();
      return [
        `server event loop delay over the period: max ${m['eventloop_delay_max_ms']!.toFixed(1)} ms, p99 ${m['eventloop_delay_p99_ms']!.toFixed(1)} ms`,
        `server garbage collections over the period: ${m['gc_major']} major (${m['gc_majorMs']!.toFixed(0)} ms, longest ${m['gc_majorMaxMs']!.toFixed(1)}), ` +
          `${m['gc_minor']} minor (${m['gc_minorMs']!.toFixed(0)} ms, longest ${m['gc_minorMaxMs']!.toFixed(1)})`,
      ];
    },
  };
}

const tmp = removableTempDir('where-lost');
const link = await twoHostLink({ tag: 'wlost', serverIf: 'prov0', serverAddress: SERVER_ADDRESS, prefixLength: 16, clientAddress: '10.20.0.2' });
try {
  const server = await start(link.server, tmp.dir);
  try {
    // perfdhcp under time(1): how much of its own core the client used (a saturated client loses replies too).
    const go = (rate: number, seconds: number) => perfdhcp(link.client, {
      ...PERFDHCP_CLIENT, clients: CLIENTS, rate, seconds,
      prefix: ['/usr/bin/time', '-f', 'perfdhcp-cpu %U %S %e', ...PERFDHCP_CLIENT.prefix],
    });
    for (let i = 0; i < 30 && (await go(50, 1)).acksReceived === 0; i++) { /* until it answers */ }
    await go(1000, Math.ceil(CLIENTS / 1000));
    server.reset();
    const r = await go(RATE, SECONDS);
    console.log(`${SERVER}: perfdhcp at ${RATE}/s for ${SECONDS} s: ${r.discoverSent} DISCOVERs, ${r.offersReceived} OFFERs, ${r.acksReceived} ACKs, ${r.drops} lost`);
    const cpu = /perfdhcp-cpu ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.output);
    if (cpu) console.log(`perfdhcp's CPU: user ${cpu[1]} s, system ${cpu[2]} s in ${cpu[3]} s (the wait for late replies included)`);
    console.log(`server namespace, since it was made: ${await udpCounters(link.server)}`);
    console.log(`client namespace, since it was made: ${await udpCounters(link.client)}`);
    for (const line of await server.report()) console.log(line);
  } finally {
    await server.stop();
  }
} finally {
  await link.close();
  tmp.remove();
}
