// bench/ui: the dashboard's machines list at fleet scale (issue 15: under 200 ms server-side,
// under 300 KB compressed, a live update within 1 s). One daemon (`rackhand serve --http-only
// --no-power`, its own process: bench/serve.ts) on SQLite, and on PostgreSQL, with N synthetic
// machines in its store (inventory entries with tags, inspected facts with an arch, some ready,
// some allocated). Signed in as admin through /ui/sign-in, this process then:
//   - GETs each page (first, filtered, text search, sorted, late; the overview) --requests times, keep-alive,
//     Accept-Encoding: gzip, one at a time: time to the last byte on loopback (the server's
//     render, store query included) and the bytes on the wire (gzip) and after decoding;
//   - --transitions times: a machine's maintenance_on/off through the API while an SSE stream
//     (/ui/events/stream, as the page's EventSource) is open; time from sending the POST to the
//     stream's `machine` event naming it, and to its row fragment (/ui/machines/NAME/row, with a
//     state filter: whether it still matches is one more query) read.
//     On PostgreSQL also from another process's write (this one's store handle: NOTIFY).
//   node --import tsx bench/ui/run.ts [--machines 10000] [--requests 25] [--transitions 25] [--only sqlite,pg]
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { act } from '../../daemon/core/actions.js';
import { openPostgresStore } from '../../daemon/core/store/postgres.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import type { Store } from '../../daemon/core/store/types.js';
import { call, makeReady, rackInventory, type RackMachine } from '../../tests/lib/allocation.js';
import { ADMIN_TOKEN } from '../../tests/lib/daemon.js';
import { startPostgres, type PgCluster } from '../../tests/lib/postgres.js';
import { serve, stop } from '../serve.js';

const { values } = parseArgs({
  options: {
    machines: { type: 'string', default: '10000' }, requests: { type: 'string', default: '25' },
    transitions: { type: 'string', default: '25' }, only: { type: 'string', default: 'sqlite,pg' },
  },
});
const N = Number(values.machines);
const REQUESTS = Number(values.requests);
const TRANSITIONS = Number(values.transitions);
const READY = Math.min(2000, N);
const RACK: RackMachine[] = Array.from({ length: N }, (_, i) => ({
  name: `m${String(i).padStart(5, '0')}`, cpus: 8 + (i % 4) * 8, memoryGib: 32, diskGib: 480,
  tags: [`rack-${String(i % 20).padStart(2, '0')}`, ...(i % 7 ? [] : ['gpu'])], arch: i % 10 ? 'x86_64' : 'aarch64',
}));
const PAGES: [string, string][] = [
  ['first page', '/ui/machines'],
  ['filtered (state, tag, !arch)', '/ui/machines?state=ready&tag=rack-07&arch=!aarch64'],
  ['text search (MAC part)', '/ui/machines?q=%3A1a%3A'],
  ['sorted (state since, desc)', '/ui/machines?sort=changed&dir=desc'],
  ['late page (191 of 200)', `/ui/machines?page=${Math.max(1, Math.ceil(N / 50) - 9)}`],
  ['late page, sorted by owner', `/ui/machines?sort=owner&dir=desc&page=${Math.max(1, Math.ceil(N / 50) - 9)}`],
  // Counts per state (one grouped query), work in flight (a query per transitional state), failures.
  ['overview', '/ui/'],
];

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

interface Got { status: number; ms: number; wire: number; body: Buffer; headers: http.IncomingHttpHeaders }

function get(url: string, headers: Record<string, string>): Promise<Got> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http.get(url, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, wire: raw.length, body, headers: res.headers });
      });
    }).on('error', reject);
  });
}

async function signIn(url: string): Promise<string> {
  const r = await fetch(`${url}/ui/sign-in`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${ADMIN_TOKEN}` });
  const cookie = /rh_session=[^;]+/.exec(r.headers.get('set-cookie') ?? '')?.[0];
  if (r.status !== 303 || !cookie) throw new Error(`sign-in: ${r.status}`);
  return cookie;
}

/** The page's EventSource, as a reader of `machine` events; `next(name)` resolves when one names it. */
function openStream(url: string, cookie: string): Promise<{ next(name: string): Promise<number>; close(): void }> {
  const waiting = new Map<string, (t: number) => void>();
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/ui/events/stream`, { headers: { cookie, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const t = performance.now();
        buf += chunk;
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          if (!/^event: machine$/m.test(block)) continue;
          const name = JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as string;
          waiting.get(name)?.(t);
          waiting.delete(name);
        }
      });
      resolve({
        next: (name) => new Promise((res2, rej2) => {
          const timer = setTimeout(() => rej2(new Error(`no machine event for ${name} in 10 s`)), 10_000);
          waiting.set(name, (t) => { clearTimeout(timer); res2(t); });
        }),
        close: () => req.destroy(),
      });
    });
    req.on('error', (err) => { if (!req.destroyed) reject(err); });
  });
}

interface PageResult { page: string; ms: number[]; wire: number; raw: number }
interface LiveResult { how: string; toEvent: number[]; toRow: number[] }
interface ModeResult { mode: string; load: string; pages: PageResult[]; live: LiveResult[] }

async function populate(store: Store): Promise<void> {
  // Inspected facts for every machine (as an agent reports them), some ready, some allocated.
  const facts = (m: RackMachine, i: number) => ({
    cpus: m.cpus, cpu_model: 'Synthetic CPU', memory_mib: m.memoryGib * 1024, arch: m.arch,
    disks: [{ name: 'nvme0n1', size_bytes: m.diskGib * 1024 ** 3, serial: `S${i}` }, { name: 'nvme1n1', size_bytes: m.diskGib * 1024 ** 3, serial: `T${i}` }],
    nics: [{ name: 'eno1', mac: '52:54:00:aa:00:01', link: true }, { name: 'eno2', mac: '52:54:00:aa:00:02', link: false }],
    dmi: { vendor: 'Synthetic', product: 'Bench Server', serial: `SN${i}` },
  });
  const chunks = Array.from({ length: 8 }, (_, k) => RACK.slice(0, READY).filter((_, i) => i % 8 === k));
  await Promise.all(chunks.map((c) => makeReady(store, c)));
  const rest = RACK.slice(READY);
  for (let i = 0; i < rest.length; i += 500) await Promise.all(rest.slice(i, i + 500).map((m, j) => store.setFacts(m.name, facts(m, READY + i + j))));
  for (let i = 0; i < READY; i += 4) await act(store, { machine: RACK[i]!.name, event: 'allocate', owner: `tenant-${i % 13}`, actor: 'bench' });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const spread = (xs: number[]) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;

async function measure(mode: string, cluster: PgCluster | undefined): Promise<ModeResult> {
  const inventory = rackInventory(RACK);
  const url = cluster ? cluster.url(await cluster.createDatabase('ui')) : undefined;
  const started = Date.now();
  const daemon = await serve(inventory, url);
  const store: Store = url ? await openPostgresStore(url) : await openSqliteStore(join(daemon.stateDir, 'rackhand.db'));
  try {
    await populate(store);
    console.error(`${mode}: ${N} machines up and populated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const load = readFileSync('/proc/loadavg', 'utf8').trim();
    const cookie = await signIn(daemon.url);
    const headers = { cookie, 'accept-encoding': 'gzip' };
    const pages: PageResult[] = [];
    for (const [label, path] of PAGES) {
      for (let i = 0; i < 2; i++) await get(daemon.url + path, headers); // warm: statements prepared, caches filled
      const ms: number[] = [];
      let last: Got | undefined;
      for (let i = 0; i < REQUESTS; i++) {
        last = await get(daemon.url + path, headers);
        if (last.status !== 200 || last.headers['content-encoding'] !== 'gzip') throw new Error(`${path}: ${last.status} ${last.headers['content-encoding']}`);
        ms.push(last.ms);
      }
      pages.push({ page: label, ms, wire: last!.wire, raw: last!.body.length });
      console.error(`${mode} ${label}: ${spread(ms)} ms, ${(last!.wire / 1024).toFixed(1)} KiB gzip, ${(last!.body.length / 1024).toFixed(1)} KiB`);
    }

    const live: LiveResult[] = [];
    const stream = await openStream(daemon.url, cookie);
    try {
      const ways: [string, (name: string, event: 'maintenance_on' | 'maintenance_off') => Promise<unknown>][] = [
        ['through the API', async (name, event) => {
          const r = await call(daemon.url, ADMIN_TOKEN, 'POST', `/api/v1/machines/${name}/actions/${event}`, {});
          if (r.status !== 200) throw new Error(`${event} ${name}: ${r.status}`);
        }],
      ];
      if (cluster) ways.push(['by another process (NOTIFY)', (name, event) => act(store, { machine: name, event, actor: 'bench' })]);
      for (const [how, transition] of ways) {
        const r: LiveResult = { how, toEvent: [], toRow: [] };
        for (let i = 0; i < TRANSITIONS; i++) {
          // Ready machines (every fourth of the first READY is allocated): on, then off again.
          const name = RACK[1 + (i % 10) * 4]!.name;
          const event = Math.floor(i / 10) % 2 ? 'maintenance_off' : 'maintenance_on';
          const t0 = performance.now();
          const seen = stream.next(name);
          await transition(name, event);
          const t1 = await seen;
          // With the page's filter, as a filtered list's row asks: the store says whether it still matches.
          const row = await get(`${daemon.url}/ui/machines/${name}/row?state=ready`, headers);
          if (row.status !== 200) throw new Error(`row ${name}: ${row.status}`);
          r.toEvent.push(t1 - t0);
          r.toRow.push(performance.now() - t0);
          await new Promise((res) => setTimeout(res, 150));
        }
        // Leave no machine in maintenance for the next way.
        for (let k = 0; k < 10; k++) {
          const m = await store.getMachine(RACK[1 + k * 4]!.name);
          if (m?.state === 'maintenance') await act(store, { machine: m.name, event: 'maintenance_off', actor: 'bench' });
        }
        live.push(r);
        console.error(`${mode} live ${how}: event ${spread(r.toEvent)} ms, row ${spread(r.toRow)} ms`);
      }
    } finally {
      stream.close();
    }
    return { mode, load, pages, live };
  } finally {
    await stop(daemon);
    await store.close();
  }
}

const modes = values.only!.split(',');
const cluster = modes.includes('pg') ? await startPostgres() : undefined;
const results: ModeResult[] = [];
try {
  for (const mode of modes) results.push(await measure(mode, mode === 'pg' ? cluster : undefined));
} finally {
  agent.destroy();
  await cluster?.stop();
}

console.log(`\nGET /ui/machines with ${N} machines; ${REQUESTS} requests each (after 2 warm-up), one at a time, keep-alive, gzip\n`);
console.log('| store | /proc/loadavg before | page | time to last byte, ms: median (min–max) | gzip bytes | HTML bytes |');
console.log('|---|---|---|---:|---:|---:|');
for (const r of results) for (const p of r.pages) console.log(`| ${r.mode} | ${r.load} | ${p.page} | ${spread(p.ms)} | ${p.wire.toLocaleString('en')} | ${p.raw.toLocaleString('en')} |`);
console.log(`\nLive update, ${TRANSITIONS} transitions each (maintenance_on/off), an SSE stream open on /ui/events/stream\n`);
console.log('| store | transition made | to the SSE `machine` event, ms | to its row fragment read, ms |');
console.log('|---|---|---:|---:|');
for (const r of results) for (const l of r.live) console.log(`| ${r.mode} | ${l.how} | ${spread(l.toEvent)} | ${spread(l.toRow)} |`);
