// SPEC §8, boot storm: a rack of simulated machines powering on within a second, each going
// through DHCP (as a PXE ROM, via a relay), TFTP, DHCP again (as iPXE), its script, the agent's
// kernel and initrd over HTTP, and the agent's inspect report. Every one is served; none is
// left stuck in inspecting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../lib/daemon.js';
import { runStorm } from '../lib/storm.js';

const COUNT = Number(process.env.STORM_CLIENTS ?? 150);
const built = existsSync(join(REPO, 'boot-images/agent/initrd.img')) && existsSync(join(REPO, 'boot-images/undionly.kpxe'));

test(`boot storm: ${COUNT} machines at once, every one served, none stuck`, { skip: !built && 'boot images not built (make boot-images)' }, async () => {
  const { summary, states, peakRssMiB } = await runStorm(COUNT, 1000);
  console.log(`# ${summary.served}/${summary.clients} served in ${(summary.wallMs / 1000).toFixed(1)} s, ${(summary.bytes / 1e9).toFixed(2)} GB; ` +
    `DHCP retransmits ${summary.dhcpRetransmits}, HTTP retries ${summary.httpRetries}; daemon peak RSS ${peakRssMiB} MiB`);
  for (const [phase, t] of Object.entries(summary.phases)) console.log(`#   ${phase.padEnd(14)} p50 ${t.p50} ms, p95 ${t.p95} ms, max ${t.max} ms`);
  assert.deepEqual(summary.failures, [], 'every client got through');
  assert.equal(summary.served, COUNT);
  assert.deepEqual(states, { ready: COUNT }, 'every machine was inspected; none is left in inspecting');
});
