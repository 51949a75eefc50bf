// bench/alloc: allocations per second. Two daemons (`rackhand serve --http-only --no-power`, each
// its own process) on one PostgreSQL database, N ready machines, clients hammering
// POST /api/v1/allocations on both for a fixed time; and for comparison one daemon on SQLite.
// Afterwards the store is read back: no machine may be in two allocations, and every 201 must be
// one active allocation.
//   node --import tsx bench/alloc/run.ts [--machines 500] [--seconds 15] [--clients 16] [--runs 3] [--only pg2,sqlite1]
// --clients in all, split evenly over the daemons (keep-alive fetches from this process, each
// waiting for its answer before the next). As root or not; no namespace, loopback only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { call, makeReady, rackInventory, type RackMachine } from '../../tests/lib/allocation.js';
import { ADMIN_TOKEN } from '../../tests/lib/daemon.js';
import { startPostgres, type PgCluster } from '../../tests/lib/postgres.js';
import { serve, stop } from '../serve.js';
import { openPostgresStore } from '../../daemon/core/store/postgres.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import type { Store } from '../../daemon/core/store/types.js';
import { spread } from '../stats.js';

const { values } = parseArgs({
  options: {
    machines: { type: 'string', default: '500' }, seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '16' }, runs: { type: 'string', default: '3' }, only: { type: 'string', default: 'pg2,sqlite1' },
  },
});
const N = Number(values.machines);
const SECONDS = Number(values.seconds);
const CLIENTS = Number(values.clients);
const RACK: RackMachine[] = Array.from({ length: N }, (_, i) => ({ name: `bench-${String(i).padStart(4, '0')}`, cpus: 8, memoryGib: 32, diskGib: 100 }));
const WANT = { profile: 'lab-image', constraints: { cpus: 8, memory_gib: 32, arch: 'x86_64' } };

interface Outcome { ok: number; statuses: Record<string, number>; machines: string[]; lastOkMs: number; elapsedMs: number }

/** CLIENTS loops split over the daemons, for SECONDS; each 201's machine noted. */
async function hammer(urls: string[]): Promise<Outcome> {
  const out: Outcome = { ok: 0, statuses: {}, machines: [], lastOkMs: 0, elapsedMs: 0 };
  const start = Date.now();
  const end = start + SECONDS * 1000;
  let n = 0;
  const loop = async (url: string) => {
    while (Date.now() < end) {
      const r = await call(url, ADMIN_TOKEN, 'POST', '/api/v1/allocations', { ...WANT, owner: `o${n++}` });
      const key = r.status === 201 ? '201' : `${r.status} ${r.body?.error?.code ?? ''}`.trim();
      out.statuses[key] = (out.statuses[key] ?? 0) + 1;
      if (r.status === 201) {
        out.ok++;
        out.lastOkMs = Date.now() - start;
        for (const m of r.body.allocation.machines as { name: string }[]) out.machines.push(m.name);
      }
    }
  };
  await Promise.all(urls.flatMap((u) => Array.from({ length: Math.ceil(CLIENTS / urls.length) }, () => loop(u))));
  out.elapsedMs = Date.now() - start;
  return out;
}

/** What the store says afterwards: no machine twice, one active allocation per 201. */
async function check(store: Store, o: Outcome): Promise<string[]> {
  const problems: string[] = [];
  const twice = o.machines.filter((m, i) => o.machines.indexOf(m) !== i);
  if (twice.length) problems.push(`answered twice: ${[...new Set(twice)].slice(0, 5).join(', ')}`);
  const active = await store.listAllocations({ state: 'active' });
  if (active.length !== o.ok) problems.push(`${active.length} active allocations for ${o.ok} answers 201`);
  const held = active.flatMap((a) => a.machines);
  const dup = held.filter((m, i) => held.indexOf(m) !== i);
  if (dup.length) problems.push(`in two allocations: ${[...new Set(dup)].slice(0, 5).join(', ')}`);
  for (const name of held) {
    const m = await store.getMachine(name);
    const owners = active.filter((a) => a.machines.includes(name)).map((a) => a.owner);
    if (m?.owner !== owners[0]) problems.push(`${name}: owner ${m?.owner}, allocation's ${owners[0]}`);
  }
  return problems;
}

interface Result { mode: string; load: string; o: Outcome; problems: string[] }

async function measure(mode: string, cluster: PgCluster | undefined): Promise<Result> {
  const load = readFileSync('/proc/loadavg', 'utf8').trim();
  const inventory = rackInventory(RACK);
  const daemons = mode === 'pg2' ? 2 : 1;
  const url = cluster ? cluster.url(await cluster.createDatabase('alloc')) : undefined;
  const first = await serve(inventory, url);
  const served = [first];
  // Our own handle on the same store: machines made ready through it, as an agent would.
  const store: Store = url ? await openPostgresStore(url) : await openSqliteStore(join(first.stateDir, 'rackhand.db'));
  try {
    for (let i = 1; i < daemons; i++) served.push(await serve(inventory, url));
    const chunks = Array.from({ length: 8 }, (_, k) => RACK.filter((_, i) => i % 8 === k));
    await Promise.all(chunks.map((c) => makeReady(store, c)));
    const o = await hammer(served.map((s) => s.url));
    return { mode, load, o, problems: await check(store, o) };
  } finally {
    await Promise.all(served.map(stop));
    await store.close();
  }
}

const modes = values.only!.split(',');
const cluster = modes.some((m) => m.startsWith('pg')) ? await startPostgres() : undefined;
const results: Result[] = [];
try {
  for (let run = 0; run < Number(values.runs); run++) {
    for (const mode of modes) {
      const r = await measure(mode, mode.startsWith('pg') ? cluster : undefined);
      results.push(r);
      const rate = r.o.ok / ((r.o.ok >= N ? r.o.lastOkMs : r.o.elapsedMs) / 1000);
      console.error(`${mode} run ${run + 1}: loadavg ${r.load}; ${r.o.ok} allocated in ${(r.o.lastOkMs / 1000).toFixed(1)} s, ${rate.toFixed(1)}/s; ${JSON.stringify(r.o.statuses)}; ${r.problems.length ? 'PROBLEMS: ' + r.problems.join('; ') : 'store check ok'}`);
    }
  }
} finally {
  await cluster?.stop();
}

// Allocations per second over the time the pool lasted (to the last 201 when it ran out, else the whole run).
const rateOf = (r: Result) => r.o.ok / ((r.o.ok >= N ? r.o.lastOkMs : r.o.elapsedMs) / 1000);
console.log(`\nPOST /api/v1/allocations, ${N} ready machines, ${CLIENTS} clients split over the daemons, ${SECONDS} s\n`);
console.log('| mode | /proc/loadavg before | allocated | allocations/s | answers | store check |');
console.log('|---|---|---:|---:|---|---|');
for (const r of results) {
  console.log(`| ${r.mode} | ${r.load} | ${r.o.ok} | ${rateOf(r).toFixed(1)} | ${Object.entries(r.o.statuses).map(([k, v]) => `${k}: ${v}`).join(', ')} | ${r.problems.length ? r.problems.join('; ') : 'no machine twice'} |`);
}
console.log('\n| mode | allocations/s, median (min–max) |\n|---|---:|');
for (const mode of modes) console.log(`| ${mode} | ${spread(results.filter((r) => r.mode === mode).map(rateOf), (x) => x.toFixed(1))} |`);
if (results.some((r) => r.problems.length)) process.exitCode = 1;
