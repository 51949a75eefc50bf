// In-process throughput of the DHCP pipeline (decode → full mode → SQLite lease → encode) without
// sockets: where the CPU goes, apart from the kernel. Run: node --import tsx bench/dhcp/micro.ts [--trace] [--rounds 4]
// --trace: every exchange also goes to the boot trace recorder (daemon/boot-trace-recorder.ts), as
// in the daemon: its batches are written to the same SQLite file every 500 ms.
import { Registry } from 'prom-client';
import { DhcpServer } from '../../daemon/dhcp/server.js';
import { storeBackend } from '../../daemon/dhcp/backend.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { dhcpSettingsFromSite } from '../../daemon/dhcp/settings.js';
import { Options, Opt } from '../../daemon/dhcp/options.js';
import { chaddrFromMac, encode, decode } from '../../daemon/dhcp/packet.js';
import { perfdhcpMacs } from '../../tests/lib/perfdhcp.js';
import { mkdirSync, rmSync } from 'node:fs';
import { startBootTrace } from '../../daemon/boot-trace-recorder.js';
mkdirSync('/tmp/cap', { recursive: true });
rmSync('/tmp/cap/micro.db', { force: true });
const store = await openSqliteStore('/tmp/cap/micro.db');
const N = 5000;
const macs = perfdhcpMacs(N);
await store.syncInventory(macs.map((mac, i) => ({ name: `p${i}`, mac, ip: null, hostname: `p${i}`, profile: null, tags: [], power: { driver: 'manual' } })), 't');
const site = { interface: 'prov0', address: '10.20.0.1', http_port: 8080, dhcp: { mode: 'full', subnet: '10.20.0.0/16', pool: '10.20.1.0-10.20.255.254', lease_time: 3600 } };
const offered = new Map<string, string>(); let sent = 0;
const registry = new Registry();
const trace = process.argv.includes('--trace') ? startBootTrace(store, registry) : undefined;
const server = new DhcpServer({ settings: dhcpSettingsFromSite(site), backend: storeBackend(store), registry, ...(trace && { trace: trace.record }),
  openSocket: async ({ port }) => ({ port, onMessage() {}, async close() {}, async send(m) { const p = decode(m); offered.set(p.chaddr.subarray(0, 6).toString('hex'), p.yiaddr); sent++; } }) });
await server.start();
const pkt = (mac: string, type: number, ip?: string) => {
  const o = new Options().setU8(Opt.MESSAGE_TYPE, type).set(Opt.PARAM_REQUEST, Buffer.from([1, 28, 2, 3, 15, 6, 12])).setString(Opt.VENDOR_CLASS, 'PXEClient').setU16(Opt.CLIENT_ARCH, 7);
  if (ip) o.setIp(Opt.REQUESTED_IP, ip).setIp(Opt.SERVER_ID, '10.20.0.1');
  return encode({ op: 1, htype: 1, hlen: 6, hops: 1, xid: 1, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '10.20.0.2', chaddr: chaddrFromMac(mac), sname: '', file: '', options: o });
};
const from = { address: '10.20.0.2', port: 67 };
const t0 = performance.now(); const cpu0 = process.cpuUsage(); let n = 0;
// --rounds N: more rounds put the steady state (leases renewed, facts unchanged) in front of a profile.
const ri = process.argv.indexOf('--rounds');
const ROUNDS = ri >= 0 ? Number(process.argv[ri + 1]) : 4;
for (let round = 0; round < ROUNDS; round++) {
  // bursts of 200 concurrent DORAs
  for (let i = 0; i < N; i += 200) {
    await Promise.all(macs.slice(i, i + 200).map(async (mac) => {
      await server.receive(pkt(mac, 1), 67, from);
      await server.receive(pkt(mac, 3, offered.get(mac.replace(/:/g, ''))), 67, from);
      n++;
    }));
  }
}
const dt = (performance.now() - t0) / 1000;
// CPU time per exchange says more than the rate on a shared, loaded host (the wall clock waits on others).
const cpu = process.cpuUsage(cpu0);
console.log(`${n} DORA in ${dt.toFixed(2)} s = ${(n / dt).toFixed(0)}/s, ${((cpu.user + cpu.system) / n).toFixed(0)} us CPU each; sent ${sent}; leases ${(await store.listLeases()).length}`);
await server.close();
if (trace) {
  await trace.close();
  const dropped = (await registry.getSingleMetric('rackhand_boot_trace_dropped_total')!.get()).values.map((v) => `${v.labels.reason}=${v.value}`).join(' ');
  console.log(`trace: ${(await store.listBootTrace('p0', 1000)).length} entries kept for p0; dropped: ${dropped || 'none'}`);
}
