// The DHCP server as a child process for network tests and benchmarks: run inside the server
// namespace as `node --import tsx tests/lib/dhcp-server-child.ts CONFIG.json`. It opens the real
// store (SQLite, or PostgreSQL when the config names a database), syncs the machines of the config into it, starts the server and prints one line,
// {"ready":true,...}. On stdin, a line "metrics" answers with {"metrics":{name{labels}: value}}
// (the event loop's delay and garbage collections since the last "reset" line among them).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay, PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import type pg from 'pg';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { openPostgresStore } from '../../daemon/core/store/postgres.js';
import type { MachineSpec } from '../../daemon/core/store/types.js';
import { pino } from 'pino';
import { createRegistry } from '../../daemon/metrics.js';
import { storeBackend } from '../../daemon/dhcp/backend.js';
import { startDhcpServer } from '../../daemon/dhcp/server.js';
import { dhcpSettingsFromSite, type SiteLike } from '../../daemon/dhcp/settings.js';

export interface ChildConfig {
  site: SiteLike;
  db: string;
  machines: { name: string; mac: string; ip?: string | null }[];
  logLevel?: string;
  /** SQLite synchronous mode: `full` for the crash test (an fsync per commit). */
  synchronous?: 'normal' | 'full';
  /** Leases in this PostgreSQL database instead of SQLite (bench/dhcp --store pg). */
  postgres?: pg.PoolConfig;
}

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ChildConfig;
const store = config.postgres
  ? await openPostgresStore(config.postgres)
  // As the daemon opens it (daemon/serve.ts): WAL checkpoints in a worker thread, not on the DHCP loop.
  : await openSqliteStore(config.db, {
    synchronous: config.synchronous ?? 'normal',
    checkpointInBackground: { warn: (message) => process.stderr.write(`${message}\n`) },
  });
const specs: MachineSpec[] = config.machines.map((m) => ({
  name: m.name, mac: m.mac, ip: m.ip ?? null, hostname: m.name, profile: null, tags: [], power: { driver: 'manual' },
}));
await store.syncInventory(specs, 'test');
const registry = createRegistry({ defaults: false });
// Stalls of the event loop are what turn a burst into loss: reported with the metrics.
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
// Garbage collections over the same period, major and minor apart: the stalls' usual cause.
const gc = { major: 0, majorMs: 0, majorMaxMs: 0, minor: 0, minorMs: 0, minorMaxMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
      gc.major++; gc.majorMs += e.duration; gc.majorMaxMs = Math.max(gc.majorMaxMs, e.duration);
    } else if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) {
      gc.minor++; gc.minorMs += e.duration; gc.minorMaxMs = Math.max(gc.minorMaxMs, e.duration);
    }
  }
}).observe({ entryTypes: ['gc'] });
// Logs go to stderr so stdout stays a clean line protocol.
const logger = pino({ name: 'dhcp-child', level: config.logLevel ?? 'warn' }, pino.destination(2));
const server = await startDhcpServer({
  settings: dhcpSettingsFromSite(config.site), backend: storeBackend(store), registry, logger,
});
// Handlers before the ready line: a parent may signal the moment it reads it.
const stop = async () => { await server.close(); await store.close(); process.exit(0); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdout.write(JSON.stringify({ ready: true, pid: process.pid }) + '\n');

createInterface({ input: process.stdin }).on('line', async (line) => {
  // "reset": the event loop's delay histogram starts again (a bench measures one period).
  if (line.trim() === 'reset') {
    loopDelay.reset();
    for (const k of Object.keys(gc) as (keyof typeof gc)[]) gc[k] = 0;
    return;
  }
  if (line.trim() !== 'metrics') return;
  const out: Record<string, number> = {};
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of (m as { values: { labels: Record<string, string | number>; value: number }[] }).values) {
      const labels = Object.entries(v.labels).map(([k, x]) => `${k}=${x}`).join(',');
      out[`${m.name}{${labels}}`] = v.value;
    }
  }
  out['eventloop_delay_max_ms'] = loopDelay.max / 1e6;
  out['eventloop_delay_p99_ms'] = loopDelay.percentile(99) / 1e6;
  for (const [k, v] of Object.entries(gc)) out[`gc_${k}`] = v;
  process.stdout.write(JSON.stringify({ metrics: out }) + '\n');
});

