// bench/storm: a boot storm (SPEC §8) — N simulated machines powering on within a second, each
// through DHCP (PXE ROM, via a relay) → TFTP loader → DHCP (iPXE) → script → agent kernel and
// initrd over HTTP → the agent's inspect report. Prints, per N: served, wall time, bytes, phase
// percentiles, retransmissions, the daemon's DHCP/TFTP counters and its peak RSS.
//   node --import tsx bench/storm/run.ts [--clients 100,300,500] [--spread-ms 1000]
// As root, with the boot images built (make boot-images). The clients are one Node process, so
// under load the phase times include the clients' own waiting; `served` and the counters are
// the server's part.
import { parseArgs } from 'node:util';
import { runStorm } from '../../tests/lib/storm.js';

const { values } = parseArgs({ options: { clients: { type: 'string', default: '100,300,500' }, 'spread-ms': { type: 'string', default: '1000' } } });
const sizes = values.clients!.split(',').map(Number);
const rows: string[] = [];
for (const n of sizes) {
  const { summary: s, states, peakRssMiB, metrics } = await runStorm(n, Number(values['spread-ms']));
  const ph = (p: string) => `${s.phases[p]!.p50} / ${s.phases[p]!.p95}`;
  rows.push(`| ${n} | ${s.served} | ${states.ready ?? 0} | ${(s.wallMs / 1000).toFixed(1)} | ${(s.bytes / 1e9).toFixed(2)} | ${ph('dhcp_pxe')} | ${ph('tftp')} | ${ph('dhcp_ipxe')} | ${ph('script')} | ${ph('kernel_initrd')} | ${ph('agent')} | ${s.dhcpRetransmits} / ${s.httpRetries} | ${peakRssMiB} |`);
  console.log(`${n} clients: ${s.served} served, ${JSON.stringify(states)}; ${metrics.join('; ')}`);
  for (const f of s.failures.slice(0, 5)) console.log(`  failed: ${f.mac} at ${f.stoppedAt}: ${f.error}`);
}
console.log(`\nBoot storm, starts spread over ${values['spread-ms']} ms; phase times p50 / p95 in ms\n`);
console.log('| machines | served | ready after | wall s | GB | DHCP (PXE) | TFTP | DHCP (iPXE) | script | kernel+initrd | agent | DHCP retransmits / HTTP retries | daemon peak RSS MiB |');
console.log('|---:|---:|---:|---:|---:|---|---|---|---|---|---|---|---:|');
for (const r of rows) console.log(r);
