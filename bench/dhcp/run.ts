// DHCP benchmark (SPEC §8): perfdhcp DORA exchanges per second against Rackhand, Kea and dnsmasq on
// the same veth pair, one after the other in one run, printed side by side.
//   node --import tsx bench/dhcp/run.ts [--clients N] [--seconds S] [--only rackhand,rackhand-dgram,kea,dnsmasq] [--runs N] [--store pg]
//     [--perfdhcp-threads single|multi]
// --store pg: Rackhand and Kea (PostgreSQL lease backend, schema by kea-admin db-init pgsql) each
// keep their leases in a database of their own on one throwaway PostgreSQL server.
// --runs N: every server N times, round-robin, then medians with their ranges.
// As root. Server on core 0, perfdhcp on core 1, single-threaded unless --perfdhcp-threads multi
// (peers.ts, PERFDHCP_CLIENT, says why). "No loss" is the highest fixed rate (-r) at which perfdhcp
// completed every exchange (exit 0, no drops); "at the limit" is the best ACK rate seen at any
// tested rate, with its loss, and "flood" perfdhcp without -r (goodput under overload).
// This host is shared and noisy: a step with loss is run once more (--retries) before it counts as
// lossy, for every server alike, so one scheduling hiccup does not end a server's ladder.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startPostgres, type PgCluster } from '../../tests/lib/postgres.js';
import { twoHostLink } from '../../tests/lib/netns.js';
import { removableTempDir } from '../../tests/lib/tmp.js';
import { perfdhcp, perfdhcpArgs, type PerfdhcpResult } from '../../tests/lib/perfdhcp.js';
import { PERFDHCP_CLIENT, SERVER_ADDRESS, startPeer, type PeerName, type PgLeases } from './peers.js';
import { spread } from '../stats.js';

const { values: args } = parseArgs({ options: {
  clients: { type: 'string', default: '5000' }, seconds: { type: 'string', default: '5' }, store: { type: 'string', default: 'file' },
  only: { type: 'string' }, runs: { type: 'string', default: '1' }, retries: { type: 'string', default: '1' },
  // multi: perfdhcp's receiver thread beside its sender on the one core (its default on a 2-CPU host).
  'perfdhcp-threads': { type: 'string', default: 'single' },
} });
if (args['perfdhcp-threads'] !== 'single' && args['perfdhcp-threads'] !== 'multi') {
  throw new Error(`--perfdhcp-threads is '${args['perfdhcp-threads']}': single or multi (perfdhcp -g)`);
}
const CLIENT = { ...PERFDHCP_CLIENT, extra: ['-g', args['perfdhcp-threads']] };
const CLIENTS = Number(args.clients);
const SECONDS = Number(args.seconds);
const PG = args.store === 'pg';
const ONLY = (args.only ?? (PG ? 'rackhand,kea' : 'rackhand,kea,dnsmasq')).split(',') as PeerName[];
const RUNS = Number(args.runs);
const RETRIES = Number(args.retries);
// With PostgreSQL (a commit per lease batch, an fsync each) both servers lose at 250/s on a busy
// host: the ladder starts lower there, and the warm-up that leases every client runs slower.
// The top steps are above what both servers did on earlier hosts: a host where a server is clean at
// 20,000 (session 13's) would otherwise show the ladder's end, not the server's limit.
const LADDER = [...(PG ? [50, 100] : []), 250, 500, 1000, 2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 20000, 24000, 28000, 32000];
const WARMUP_RATE = Math.min(PG ? 250 : 2000, CLIENTS);

interface Step { rate: number | undefined; r: PerfdhcpResult; acksPerSecond: number; loss: number }
interface Row { name: string; load: string; noLoss: Step | undefined; best: Step | undefined; flood: Step | undefined; steps: Step[] }

execFileSync('tests/setup/ensure-packages.sh', ['kea-admin', 'kea-dhcp4-server', 'dnsmasq-base'], { stdio: 'inherit' });
const cluster: PgCluster | undefined = PG ? await startPostgres() : undefined;

/** A fresh database for one server's run; Kea's gets its schema from kea-admin. */
async function leaseDatabase(name: PeerName): Promise<PgLeases | undefined> {
  if (!cluster) return undefined;
  const db: PgLeases = { socketDir: cluster.socketDir, port: cluster.port, user: cluster.user, password: cluster.password, database: await cluster.createDatabase(name) };
  if (name === 'kea') {
    execFileSync('kea-admin', ['db-init', 'pgsql', '-h', db.socketDir, '-P', String(db.port), '-u', db.user, '-p', db.password, '-n', db.database], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return db;
}

async function measure(name: PeerName): Promise<Row> {
  const load = readFileSync('/proc/loadavg', 'utf8').trim();
  process.stderr.write(`${name}: /proc/loadavg ${load}\n`);
  const tmp = removableTempDir(`bench-${name}`);
  const link = await twoHostLink({ tag: `b${name.slice(0, 3)}`, serverIf: 'prov0', serverAddress: SERVER_ADDRESS, prefixLength: 16, clientAddress: '10.20.0.2' });
  const row: Row = { name, load, noLoss: undefined, best: undefined, flood: undefined, steps: [] };
  try {
    const pg = await leaseDatabase(name);
    const peer = await startPeer(name, link.server, tmp.dir, { clients: CLIENTS, core: '0', ...(pg ? { pg } : {}) });
    try {
      const run = async (rate: number | undefined, seconds = SECONDS): Promise<Step> => {
        const r = await perfdhcp(link.client, { ...CLIENT, clients: CLIENTS, rate, seconds });
        const loss = r.discoverSent ? 1 - r.acksReceived / r.discoverSent : 1;
        const step = { rate, r, acksPerSecond: r.acksReceived / seconds, loss };
        process.stderr.write(`${name} rate ${rate ?? 'flood'}: ${r.acksReceived} ACKs, ${(loss * 100).toFixed(2)}% loss, exit ${r.exitCode}\n`);
        return step;
      };
      // Ready when a few exchanges complete; then a warm-up that gives every client a lease.
      for (let i = 0; i < 30; i++) {
        const probe = await run(50, 1);
        if (probe.r.acksReceived > 0) break;
      }
      await run(WARMUP_RATE, Math.max(2, Math.ceil(CLIENTS / WARMUP_RATE)));
      const clean = (s: Step) => s.r.exitCode === 0 && s.r.drops === 0 && s.r.acksReceived === s.r.discoverSent;
      const attempt = async (rate: number): Promise<Step> => {
        let s = await run(rate);
        for (let i = 0; i < RETRIES && !clean(s); i++) { row.steps.push(s); s = await run(rate); }
        row.steps.push(s);
        return s;
      };
      let good: number | undefined;
      let bad: number | undefined;
      for (const rate of LADDER) {
        const s = await attempt(rate);
        if (clean(s)) { good = rate; row.noLoss = s; } else { bad = rate; break; }
      }
      // Three halvings between the last clean rate and the first lossy one.
      for (let i = 0; i < 3 && good !== undefined && bad !== undefined; i++) {
        const mid = Math.round((good + bad) / 2);
        const s = await attempt(mid);
        if (clean(s)) { good = mid; row.noLoss = s; } else bad = mid;
      }
      row.flood = await run(undefined);
      row.best = [...row.steps, row.flood].reduce((a, b) => (b.acksPerSecond > a.acksPerSecond ? b : a));
    } finally {
      await peer.stop();
    }
  } finally {
    await link.close();
    tmp.remove();
  }
  return row;
}

const rows: Row[] = [];
for (let run = 0; run < RUNS; run++) for (const name of ONLY) rows.push(await measure(name));
await cluster?.stop();
const fmt = (n: number | undefined) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
console.log(`\nperfdhcp DORA/s, ${CLIENTS} clients, ${SECONDS} s per step, ${RETRIES} retry of a lossy step, PXE options 60/93, relay mode (giaddr set), leases ${PG ? 'in PostgreSQL' : 'in files'}`);
console.log('server         /proc/loadavg before                no loss (-r)   ACK/s at limit (loss, rate)    flood goodput (loss)');
for (const r of rows) {
  const best = r.best ? `${fmt(r.best.acksPerSecond)} (${pct(r.best.loss)}, -r ${r.best.rate ?? 'flood'})` : '-';
  const flood = r.flood ? `${fmt(r.flood.acksPerSecond)} (${pct(r.flood.loss)})` : '-';
  console.log(`${r.name.padEnd(14)} ${r.load.padEnd(34)} ${fmt(r.noLoss?.rate).padStart(12)}   ${best.padEnd(30)} ${flood}`);
}
if (RUNS > 1) {
  console.log(`\nmedians of ${RUNS} runs (min–max)\nserver         no loss (-r)              flood goodput             flood loss`);
  for (const name of ONLY) {
    const mine = rows.filter((r) => r.name === name);
    const lossRange = mine.map((r) => r.flood?.loss ?? 1).sort((a, b) => a - b);
    console.log(`${name.padEnd(14)} ${spread(mine.map((r) => r.noLoss?.rate ?? 0), fmt).padEnd(25)} ${spread(mine.map((r) => r.flood?.acksPerSecond ?? 0), fmt).padEnd(25)} ${pct(lossRange[0]!)}–${pct(lossRange[lossRange.length - 1]!)}`);
  }
}
console.log(`\ncommand per step: ip netns exec CLIENT ${perfdhcpArgs({ ...CLIENT, clients: CLIENTS, rate: 1000, seconds: SECONDS }).join(' ')}`);
