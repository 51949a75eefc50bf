// bench/storm: a boot storm (SPEC §8) — N simulated machines powering on within a second, each
// through DHCP (PXE ROM, via a relay) → TFTP loader → DHCP (iPXE) → script → agent kernel and
// initrd over HTTP → the agent's inspect report. Prints, per N: served, wall time, bytes, phase
// percentiles, retransmissions, the daemon's DHCP/TFTP counters, its peak RSS and the CPU time it
// used while the clients ran (all its threads; the part of the wall time a shared host cannot blur).
//   node --import tsx bench/storm/run.ts [--clients 100,300,500] [--spread-ms 1000] [--racks 2]
// --racks 2: two rack daemons (`serve --rack`) on one throwaway PostgreSQL database, each on its
// own namespace pair with its own relay and half of the machines; one row per rack, then the total.
// --payload small: the agent's kernel and initrd 256 KiB each (tests/lib/storm.ts says why).
// As root, with the boot images built (make boot-images). The clients are one Node process per
// rack, so under load the phase times include the clients' own waiting; `served` and the counters
// are the server's part.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runStorm, type StormPayload, type StormSummary } from '../../tests/lib/storm.js';

const { values } = parseArgs({ options: {
  clients: { type: 'string', default: '100,300,500' }, 'spread-ms': { type: 'string', default: '1000' }, racks: { type: 'string', default: '1' },
  payload: { type: 'string', default: 'agent' },
} });
if (values.payload !== 'agent' && values.payload !== 'small') throw new Error('--payload agent|small');
const payload: StormPayload = values.payload;
const sizes = values.clients!.split(',').map(Number);
const racks = Number(values.racks);
const rows: string[] = [];
const row = (label: string, s: StormSummary, ready: number | string, rss: number | string, cpuMs: number) => {
  const ph = (p: string) => `${s.phases[p]!.p50} / ${s.phases[p]!.p95}`;
  rows.push(`| ${label} | ${s.served} | ${ready} | ${(s.wallMs / 1000).toFixed(1)} | ${(s.bytes / 1e9).toFixed(2)} | ${ph('dhcp_pxe')} | ${ph('tftp')} | ${ph('dhcp_ipxe')} | ${ph('script')} | ${ph('kernel_initrd')} | ${ph('agent')} | ${s.dhcpRetransmits} / ${s.httpRetries} | ${rss} | ${(cpuMs / 1000).toFixed(1)} / ${(s.clientCpuMs / 1000).toFixed(1)} |`);
};
for (const n of sizes) {
  console.log(`${n} clients over ${racks} rack(s): /proc/loadavg ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  const { summary: s, states, peakRssMiB, daemonCpuMs, metrics, racks: perRack } = await runStorm(n, Number(values['spread-ms']), { racks, payload });
  if (racks > 1) {
    for (const r of perRack) row(`${n}, ${r.rack} (${r.summary.clients})`, r.summary, '', r.peakRssMiB, r.daemonCpuMs);
    rows.push(`| ${n}, total | ${s.served} | ${states.ready ?? 0} | ${(s.wallMs / 1000).toFixed(1)} | ${(s.bytes / 1e9).toFixed(2)} | | | | | | | ${s.dhcpRetransmits} / ${s.httpRetries} | ${perRack.map((r) => r.peakRssMiB).join(' / ')} | ${perRack.map((r) => (r.daemonCpuMs / 1000).toFixed(1)).join(' / ')} / ${(s.clientCpuMs / 1000).toFixed(1)} |`);
  } else {
    row(String(n), s, states.ready ?? 0, peakRssMiB, daemonCpuMs);
  }
  console.log(`${n} clients: ${s.served} served, ${JSON.stringify(states)}; ${metrics.join('; ')}`);
  for (const f of s.failures.slice(0, 5)) console.log(`  failed: ${f.mac} at ${f.stoppedAt}: ${f.error}`);
}
console.log(`\nBoot storm, starts spread over ${values['spread-ms']} ms, ${payload === 'agent' ? 'the real agent kernel and initrd' : 'a small agent (256 KiB kernel and initrd)'}; phase times p50 / p95 in ms\n`);
console.log('| machines | served | ready after | wall s | GB | DHCP (PXE) | TFTP | DHCP (iPXE) | script | kernel+initrd | agent | DHCP retransmits / HTTP retries | daemon peak RSS MiB | CPU s: daemon / clients |');
console.log('|---:|---:|---:|---:|---:|---|---|---|---|---|---|---|---:|---:|');
for (const r of rows) console.log(r);
