// The server's CPU time per DHCP exchange at a fixed rate: on a shared, noisy host the highest
// no-loss rate swings 2× from minute to minute, the CPU a server spends per DORA much less. Each
// server in turn (round-robin, --runs times) serves perfdhcp at --rate for --seconds after a warm-up
// that leases every client; its utime + stime (/proc/PID/stat) over the measured period is divided
// by the ACKs perfdhcp received.
//   node --import tsx bench/dhcp/cpu.ts [--only rackhand,rackhand-dgram,kea] [--rate 2000] [--seconds 10] [--runs 3]
// As root. Same setup as run.ts: server on core 0, perfdhcp on core 1, 5,000 clients, leases in files.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { twoHostLink } from '../../tests/lib/netns.js';
import { perfdhcp } from '../../tests/lib/perfdhcp.js';
import { removableTempDir } from '../../tests/lib/tmp.js';
import { PERFDHCP_CLIENT, SERVER_ADDRESS, startPeer, type PeerName } from './peers.js';

const { values: args } = parseArgs({ options: {
  only: { type: 'string', default: 'rackhand,rackhand-dgram,kea' }, rate: { type: 'string', default: '2000' },
  seconds: { type: 'string', default: '10' }, runs: { type: 'string', default: '3' },
} });
const ONLY = args.only.split(',') as PeerName[];
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const RUNS = Number(args.runs);
const CLIENTS = 5000;
const TICK_MS = 10; // USER_HZ is 100 on Linux

/** User and system CPU of a process, or of one of its threads (`/proc/PID/task/TID/stat`). */
function cpuOf(statPath: string): { user: number; system: number } {
  // Fields after the command name (which may hold spaces): state is 3rd, utime 14th, stime 15th.
  const stat = readFileSync(statPath, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) * TICK_MS, system: Number(f[12]) * TICK_MS };
}
const cpuMs = (pid: number) => { const c = cpuOf(`/proc/${pid}/stat`); return c.user + c.system; };
/** The main thread's share: the rest is the kernel's work in syscalls, GC and libuv threads. */
const mainThread = (pid: number) => cpuOf(`/proc/${pid}/task/${pid}/stat`);

interface Row { name: string; load: string; acks: number; loss: number; msPer1000: number }
const rows: Row[] = [];
for (let run = 0; run < RUNS; run++) {
  for (const name of ONLY) {
    const load = readFileSync('/proc/loadavg', 'utf8').trim().split(' ').slice(0, 3).join(' ');
    const tmp = removableTempDir(`cpu-${name}`);
    const link = await twoHostLink({ tag: `c${name.slice(0, 3)}`, serverIf: 'prov0', serverAddress: SERVER_ADDRESS, prefixLength: 16, clientAddress: '10.20.0.2' });
    try {
      const peer = await startPeer(name, link.server, tmp.dir, { clients: CLIENTS, core: '0' });
      try {
        const go = (rate: number, seconds: number) => perfdhcp(link.client, { ...PERFDHCP_CLIENT, clients: CLIENTS, rate, seconds });
        for (let i = 0; i < 30 && (await go(50, 1)).acksReceived === 0; i++) { /* until it answers */ }
        await go(1000, Math.ceil(CLIENTS / 1000));
        const before = cpuMs(peer.pid);
        const mainBefore = mainThread(peer.pid);
        const r = await go(RATE, SECONDS);
        const spent = cpuMs(peer.pid) - before;
        const mainAfter = mainThread(peer.pid);
        const split = `main thread ${mainAfter.user - mainBefore.user} ms user + ${mainAfter.system - mainBefore.system} ms system`;
        const row = { name, load, acks: r.acksReceived, loss: r.discoverSent ? 1 - r.acksReceived / r.discoverSent : 1, msPer1000: (spent / Math.max(1, r.acksReceived)) * 1000 };
        rows.push(row);
        process.stderr.write(`${name}: load ${load}, ${r.acksReceived} ACKs (${(row.loss * 100).toFixed(2)}% lost), ${spent} ms CPU (${split}), ${row.msPer1000.toFixed(1)} ms per 1,000 DORA\n`);
      } finally {
        await peer.stop();
      }
    } finally {
      await link.close();
      tmp.remove();
    }
  }
}

console.log(`\nserver CPU per 1,000 DORA at ${RATE}/s for ${SECONDS} s, ${RUNS} runs (median, min–max)`);
for (const name of ONLY) {
  const v = rows.filter((r) => r.name === name).map((r) => r.msPer1000).sort((a, b) => a - b);
  const loads = rows.filter((r) => r.name === name).map((r) => r.load).join('; ');
  console.log(`${name.padEnd(15)} ${v[v.length >> 1]!.toFixed(1).padStart(7)} ms (${v[0]!.toFixed(1)}–${v[v.length - 1]!.toFixed(1)})   load: ${loads}`);
}
