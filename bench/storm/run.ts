// bench/storm: a boot storm (SPEC §8) — N simulated machines powering on within a second, each
// through DHCP (PXE ROM, via a relay) → TFTP loader → DHCP (iPXE) → script → agent kernel and
// initrd over HTTP → the agent's inspect report. Prints, per N: served, wall time, bytes, phase
// percentiles, retransmissions, the daemon's DHCP/TFTP counters, its peak RSS and the CPU time it
// used while the clients ran (all its threads; the part of the wall time a shared host cannot blur).
//   node --import tsx bench/storm/run.ts [--clients 100,300,500] [--spread-ms 1000] [--racks 2] [--runs 3]
// --runs N: each size N times in a row, one row per run (with the load average at its start),
// then the medians and ranges of the wall time and of the CPU both sides used: this host's speed
// moves a single storm by ±20 % (BENCHMARKS.md), so one run decides nothing.
// --racks 2: two rack daemons (`serve --rack`) on one throwaway PostgreSQL database, each on its
// own namespace pair with its own relay and half of the machines; one row per rack, then the total.
// --payload small: the agent's kernel and initrd 256 KiB each (tests/lib/storm.ts says why).
// As root, with the boot images built (make boot-images). The clients are one Node process per
// rack, so under load the phase times include the clients' own waiting; `served` and the counters
// are the server's part.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runStorm, type StormPayload, type StormSummary } from '../../tests/lib/storm.js';
import { spread } from '../stats.js';

const { values } = parseArgs({ options: {
  clients: { type: 'string', default: '100,300,500' }, 'spread-ms': { type: 'string', default: '1000' }, racks: { type: 'string', default: '1' },
  payload: { type: 'string', default: 'agent' }, runs: { type: 'string', default: '1' },
} });
if (values.payload !== 'agent' && values.payload !== 'small') throw new Error('--payload agent|small');
const payload: StormPayload = values.payload;
const sizes = values.clients!.split(',').map(Number);
const racks = Number(values.racks);
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs N: a whole number, at least 1');
const rows: string[] = [];
/** Per size, what each of its runs gave: for the medians. */
const perSize = new Map<number, { wallS: number; daemonCpuS: number; clientCpuS: number; served: number; ready: number; rss: number }[]>();
const row = (label: string, s: StormSummary, ready: number | string, rss: number | string, cpuMs: number) => {
  const ph = (p: string) => `${s.phases[p]!.p50} / ${s.phases[p]!.p95}`;
  rows.push(`| ${label} | ${s.served} | ${ready} | ${(s.wallMs / 1000).toFixed(1)} | ${(s.bytes / 1e9).toFixed(2)} | ${ph('dhcp_pxe')} | ${ph('tftp')} | ${ph('dhcp_ipxe')} | ${ph('script')} | ${ph('kernel_initrd')} | ${ph('agent')} | ${s.dhcpRetransmits} / ${s.httpRetries} | ${rss} | ${(cpuMs / 1000).toFixed(1)} / ${(s.clientCpuMs / 1000).toFixed(1)} |`);
};
for (const n of sizes) for (let run = 1; run <= runs; run++) {
  const load = readFileSync('/proc/loadavg', 'utf8').trim();
  console.log(`${n} clients over ${racks} rack(s), run ${run} of ${runs}: /proc/loadavg ${load}`);
  const { summary: s, states, peakRssMiB, daemonCpuMs, metrics, racks: perRack } = await runStorm(n, Number(values['spread-ms']), { racks, payload });
  const label = runs > 1 ? `${n} #${run} (load ${load.split(' ')[0]})` : String(n);
  if (racks > 1) {
    for (const r of perRack) row(`${label}, ${r.rack} (${r.summary.clients})`, r.summary, '', r.peakRssMiB, r.daemonCpuMs);
    rows.push(`| ${label}, total | ${s.served} | ${states.ready ?? 0} | ${(s.wallMs / 1000).toFixed(1)} | ${(s.bytes / 1e9).toFixed(2)} | | | | | | | ${s.dhcpRetransmits} / ${s.httpRetries} | ${perRack.map((r) => r.peakRssMiB).join(' / ')} | ${perRack.map((r) => (r.daemonCpuMs / 1000).toFixed(1)).join(' / ')} / ${(s.clientCpuMs / 1000).toFixed(1)} |`);
  } else {
    row(label, s, states.ready ?? 0, peakRssMiB, daemonCpuMs);
  }
  const mine = perSize.get(n) ?? [];
  mine.push({ wallS: s.wallMs / 1000, daemonCpuS: daemonCpuMs / 1000, clientCpuS: s.clientCpuMs / 1000, served: s.served, ready: states.ready ?? 0, rss: peakRssMiB });
  perSize.set(n, mine);
  console.log(`${n} clients: ${s.served} served, ${JSON.stringify(states)}; ${metrics.join('; ')}`);
  for (const f of s.failures.slice(0, 5)) console.log(`  failed: ${f.mac} at ${f.stoppedAt}: ${f.error}`);
}
console.log(`\nBoot storm, starts spread over ${values['spread-ms']} ms, ${payload === 'agent' ? 'the real agent kernel and initrd' : 'a small agent (256 KiB kernel and initrd)'}; phase times p50 / p95 in ms\n`);
console.log('| machines | served | ready after | wall s | GB | DHCP (PXE) | TFTP | DHCP (iPXE) | script | kernel+initrd | agent | DHCP retransmits / HTTP retries | daemon peak RSS MiB | CPU s: daemon / clients |');
console.log('|---:|---:|---:|---:|---:|---|---|---|---|---|---|---|---:|---:|');
for (const r of rows) console.log(r);
if (runs > 1) {
  const s1 = (x: number) => x.toFixed(1);
  console.log(`\nMedians of ${runs} runs (min–max)\n`);
  console.log('| machines | served (fewest) | ready (fewest) | wall s | CPU s: daemon | CPU s: clients | daemon peak RSS MiB (most) |');
  console.log('|---:|---:|---:|---|---|---|---:|');
  for (const [n, xs] of perSize) {
    console.log(`| ${n} | ${Math.min(...xs.map((x) => x.served))} | ${Math.min(...xs.map((x) => x.ready))} | ${spread(xs.map((x) => x.wallS), s1)} | ${spread(xs.map((x) => x.daemonCpuS), s1)} | ${spread(xs.map((x) => x.clientCpuS), s1)} | ${Math.max(...xs.map((x) => x.rss))} |`);
  }
}
