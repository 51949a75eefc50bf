// `rackhand serve`: validate the inventory, sync it into the store, start the listeners, sweep
// timeouts, and handle signals — SIGTERM/SIGINT drain and exit 0, SIGHUP re-reads the inventory.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { createApp } from './http/app.js';
import { limitConnections } from './http/api/connection-limits.js';
import { drainable } from './http/drain.js';
import { ensureTokenFile, readTokenFile, TokenBook } from './http/api/tokens.js';
import { validateInventory } from './core/inventory/validate.js';
import { formatError, formatWarning, machineSpecs, type InventoryError, type LoadedInventory } from './core/inventory/load.js';
import { openSqliteStore } from './core/store/sqlite.js';
import { openPostgresStore } from './core/store/postgres.js';
import { redactStoreUrl } from './core/store/location.js';
import { machineTimeouts, sweepTimeouts } from './core/timeouts.js';
import type { MachineRecord, Store } from './core/store/types.js';
import { closePowerSessions, createManagedPower, type ManagedPower } from './power/index.js';
import { createPowerMetrics, type PowerMetrics } from './power/metrics.js';
import { formatIPv4, parseCidr } from './core/net.js';
import { createRegistry } from './metrics.js';
import type { Logger } from './log.js';
import { VERSION } from './version.js';
import { createOrchestrator, manualOrchestrator, type Orchestrator } from './orchestrate.js';
import { startRackServices, type RackServices } from './rack-services.js';
import { startSecondarySegment } from './secondary-segment.js';
import { startTftpServer } from './tftp/index.js';
import { imagesTftpHandler } from './tftp-images.js';
import { grubConfigsFirst } from './grub-tftp.js';
import { secureBootLookup } from './core/secure-boot.js';
import { startDhcp, type DhcpServer } from './dhcp/index.js';
import { refusalLog } from './http/boot-token.js';
import { createTransitions, type Transitions } from './core/transitions.js';
import { isConnectionFailure } from './core/store/availability.js';
import { watchStore } from './store-watch.js';
import { startBootTrace } from './boot-trace-recorder.js';


/**
 * Connections the kernel queues before the server accepts them. A boot storm opens thousands
 * within a second: past Node's default (511) the kernel drops SYNs, which the machines' TCP sends
 * again after 1, 3, 7, 15 s (bench/storm saw a script fetch's p95 at 14.5 s). Linux caps it at
 * net.core.somaxconn (4096 by default since 5.4).
 */
const HTTP_BACKLOG = 4096;

export interface ServeOptions {
  inventoryFile: string;
  stateDir: string;
  logger: Logger;
  /** Overrides of the inventory's HTTP listener (tests, several daemons on one host). */
  httpListen?: string;
  httpPort?: number;
  /** Seconds between timeout sweeps. */
  sweepInterval?: number;
  /** Serve HTTP (API, boot scripts, images) only: no DHCP or TFTP (another PXE server, API tests). */
  httpOnly?: boolean;
  /** Drive BMCs when operations start (default true); off, operators power machines themselves. */
  powerActions?: boolean;
  /** TFTP port (69); tests run unprivileged copies elsewhere. */
  tftpPort?: number;
  /** A postgresql:// URL, over the inventory's site.store; neither: SQLite in the state directory. */
  store?: string;
  /** The rack this daemon serves, when the inventory names racks (each rack one daemon). */
  rack?: string;
  /** After the daemon closed itself because another daemon took its rack over (the CLI exits 1). */
  onRackLost?: (reason: string) => void;
  /** API requests held waiting for events (GET /api/v1/events?wait=…) at most (default 1000). */
  maxHeldEventReads?: number;
  /** Dashboard live streams (/ui/events/stream) open at once at most (default 200). */
  maxUiStreams?: number;
}

export class InventoryInvalid extends Error {
  constructor(readonly errors: InventoryError[]) {
    super(errors.map(formatError).join('\n'));
  }
}

export interface Daemon {
  store: Store;
  inventory(): LoadedInventory;
  httpAddress(): { address: string; port: number };
  reload(): Promise<void>;
  close(): Promise<void>;
}

export async function startDaemon(opts: ServeOptions): Promise<Daemon> {
  const { logger } = opts;
  const first = validateInventory(opts.inventoryFile, { rack: opts.rack });
  if (!first.ok) throw new InventoryInvalid(first.errors);
  for (const w of first.warnings) logger.warn(formatWarning(w));
  let loaded = first.value;

  const stateDir = resolve(opts.stateDir);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const store = await openStore(opts.store ?? loaded.inventory.site.store, stateDir, logger);
  await syncMachines(store, loaded, logger);

  const tokenFile = ensureTokenFile(stateDir);
  if (tokenFile.created) logger.warn({ path: tokenFile.path }, `created the API token file ${tokenFile.path} with an admin token`);
  const tokens = new TokenBook(readTokenFile(tokenFile.path));

  const registry = createRegistry();
  watchStore(store.availability, registry, logger);
  const power = powerFactory(store, () => loaded, logger, createPowerMetrics(registry));
  const bootTrace = startBootTrace(store, registry);
  const transitions = createTransitions(store, logger);
  // What GRUB's configs over TFTP need (grub-tftp.ts): what the HTTP boot routes get.
  const bootContext = { store, inventory: () => loaded, logger, stateDir, transitions };
  const orchestrator: Orchestrator = opts.powerActions === false
    ? manualOrchestrator(logger)
    : createOrchestrator({ store, transitions, power, logger, rack: loaded.rack });
  const site = loaded.inventory.site;
  let stopOnLost: ((reason: string) => void) | undefined;
  let boundPort: number | undefined;
  let racks: RackServices;
  try {
    racks = await startRackServices({
      store, logger, loaded: () => loaded, boot: (item, m, op, ctl) => orchestrator.boot(item, m, op, ctl),
      // Heartbeats from before the listener is up carry the configured port; later ones the bound one.
      info: () => ({ http_port: boundPort ?? opts.httpPort ?? site.http_port, address: site.address, interface: site.interface, version: VERSION }),
      startSecondary: opts.httpOnly ? undefined : (entry) => startSecondarySegment(entry, () => loaded, store, registry, logger, (name, cause) => inspectDiscovered(store, transitions, name, cause, logger), opts.tftpPort, bootTrace.record,
        { grub: (files, address) => grubConfigsFirst(bootContext, files, address), secureBoot: (name) => secureBootLookup(loaded.inventory)(name) }),
      onLost: (reason) => { logger.fatal(reason); stopOnLost?.(reason); },
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  // A started operation's boot is durable work already: look for it at once.
  transitions.onOperationStarted(() => racks.wake());
  // Started after the API: forgetting a machine reaches it once it runs (only its leases matter).
  let dhcpServer: DhcpServer | undefined;
  const forgotten = async (macs: string[]) => { for (const mac of macs) await dhcpServer?.forget(mac); };
  const app = createApp({ store, tokens, inventory: () => loaded, logger, registry, version: VERSION, startedAt: new Date(), stateDir, power, transitions, forgotten,
    eventFeed: store.eventFeed, maxHeldEventReads: opts.maxHeldEventReads, maxUiStreams: opts.maxUiStreams, bootTrace: bootTrace.record });
  const host = opts.httpListen ?? site.http_listen;
  const port = opts.httpPort ?? site.http_port;
  const server: Server = await new Promise((resolveListen, reject) => {
    const s = app.listen(port, host, HTTP_BACKLOG, () => resolveListen(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 5000;
  limitConnections(server, () => loaded.inventory.site.http_connections, registry);
  const drain = drainable(server);
  const bound = server.address() as { address: string; port: number };
  boundPort = bound.port;
  logger.info({ address: bound.address, port: bound.port, version: VERSION }, `HTTP listening on ${bound.address}:${bound.port}`);

  const bootServers: { name: string; close(): Promise<void> }[] = [];
  if (!opts.httpOnly) {
    try {
      const tftp = await startTftpServer({
        address: site.address, port: opts.tftpPort ?? 69, bindInterface: site.interface,
        handler: grubConfigsFirst(bootContext, imagesTftpHandler(() => loaded)),
      }, { logger, registry, trace: bootTrace.record });
      bootServers.push({ name: 'tftp', close: () => tftp.close() });
      logger.info({ address: site.address, port: tftp.port }, `TFTP serving ${loaded.imagesDir} on ${site.address}:${tftp.port}`);
      const dhcp = await startDhcp(site, store, { registry, logger, rack: loaded.rack, startInspection: (name, cause) => inspectDiscovered(store, transitions, name, cause, logger), trace: bootTrace.record,
        secureBoot: (name) => secureBootLookup(loaded.inventory)(name) });
      bootServers.push({ name: 'dhcp', close: () => dhcp.close() });
      dhcpServer = dhcp;
      logger.info({ interface: site.interface, mode: site.dhcp.mode }, `DHCP (${site.dhcp.mode} mode) on ${site.interface}`);
    } catch (err) {
      for (const b of bootServers) await b.close().catch(() => undefined);
      server.close();
      await racks.close();
      await bootTrace.close();
      await store.close();
      throw new Error(`cannot serve PXE on ${site.interface} (${site.address}): ${(err as Error).message}`);
    }
  }

  // At start this recovers from a crash: anything whose deadline passed while we were down fails now.
  let lastPrune = 0;
  const sweep = async () => {
    try {
      // Each failure is logged by the transition itself.
      const served = racks.served();
      await sweepTimeouts(store, transitions, new Date(), (m) => machineTimeouts(loaded.inventory, m), (m) => served.includes(m.rack));
      if (Date.now() - lastPrune > 3600_000) {
        lastPrune = Date.now();
        await store.pruneWork(new Date(Date.now() - 7 * 86400_000).toISOString());
      }
    } catch (err) {
      // An outage is logged once, when it starts (store-watch.ts); the sweep runs again after it.
      if (!isConnectionFailure(err)) logger.error({ err }, 'timeout sweep failed');
    }
  };
  await sweep();
  const sweeper = setInterval(sweep, (opts.sweepInterval ?? 5) * 1000);
  sweeper.unref();

  let closing: Promise<void> | undefined;
  const daemon: Daemon = {
    store,
    inventory: () => loaded,
    httpAddress: () => bound,
    async reload() {
      const next = validateInventory(opts.inventoryFile, { rack: opts.rack });
      if (!next.ok) {
        for (const e of next.errors) logger.error(formatError(e));
        logger.error('inventory reload refused: the running inventory stays in force');
        return;
      }
      if (next.value.inventory.site.store !== loaded.inventory.site.store) {
        logger.warn('site.store changed: the daemon keeps the store it opened until it restarts');
      }
      if (!opts.httpOnly && JSON.stringify(next.value.inventory.site) !== JSON.stringify(loaded.inventory.site)) {
        logger.warn('the site section changed: DHCP and TFTP keep their settings until the daemon restarts');
      }
      loaded = next.value;
      await syncMachines(store, loaded, logger);
      tokens.replace(readTokenFile(tokenFile.path));
      logger.info('inventory reloaded');
    },
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        // Held long-polls answer now (with what there is) instead of holding the drain below.
        store.eventFeed.close();
        // Work under way ends; the heartbeat says we stopped (a restarted daemon is let in at once).
        await racks.close();
        // BMCs cap their sessions: leave none behind.
        await closePowerSessions().catch((err) => logger.error({ err }, 'logging out of BMC sessions failed'));
        for (const b of bootServers) await b.close().catch((err) => logger.error({ err }, `closing ${b.name} failed`));
        // Stop accepting, let in-flight requests finish, drop connections that carry none.
        await drain.close(10_000);
        // Refusals counted but not yet written become their event; the trace's last batch is written.
        refusalLog(store).close();
        await bootTrace.close();
        await store.close();
      })();
      return closing;
    },
  };
  stopOnLost = (reason) => { void daemon.close().then(() => opts.onRackLost?.(reason)); };
  return daemon;
}

/**
 * The store: a PostgreSQL database when a URL is given (shown only with its password masked),
 * else SQLite in the state directory.
 */
async function openStore(url: string | undefined, stateDir: string, logger: Logger): Promise<Store> {
  if (!url) {
    const file = join(stateDir, 'rackhand.db');
    logger.info({ store: 'sqlite', path: file }, `store: SQLite ${file}`);
    return openSqliteStore(file, { checkpointInBackground: { warn: (message) => logger.warn({ store: 'sqlite', path: file }, message) } });
  }
  const shown = redactStoreUrl(url);
  let store: Store;
  try {
    store = await openPostgresStore(url, {
      // One line per connection; whether the server itself is away is probed and logged once (store-watch.ts).
      onIdleError: (err) => logger.debug({ store: shown, error: err.message }, 'an idle PostgreSQL connection failed: it is replaced when next needed'),
      onListener: {
        lost: (err) => logger.warn({ store: shown, error: err.message }, 'the event feed lost its PostgreSQL listening connection: reconnecting; until then followers learn of other daemons\' events from the resync every 5 s'),
        restored: (ms) => logger.info({ store: shown, down_ms: ms }, `the event feed listens to PostgreSQL again after ${Math.round(ms / 100) / 10} s`),
      },
    });
  } catch (err) {
    throw new Error(`cannot open the PostgreSQL store ${shown}: ${(err as Error).message}`);
  }
  logger.info({ store: 'postgresql', url: shown }, `store: PostgreSQL ${shown}`);
  return store;
}

/**
 * One managed power driver per machine, kept while its power section is unchanged (a driver
 * remembers what it learned, e.g. the cipher suite a BMC accepts). Power notes become events.
 */
function powerFactory(store: Store, inventory: () => LoadedInventory, logger: Logger, metrics: PowerMetrics) {
  const cache = new Map<string, { key: string; power: ManagedPower }>();
  return (m: MachineRecord): ManagedPower => {
    const loaded = inventory();
    const key = JSON.stringify([m.power, m.mac, loaded.baseDir]);
    const hit = cache.get(m.name);
    if (hit?.key === key) return hit.power;
    const subnet = loaded.inventory.site.dhcp.subnet ? parseCidr(loaded.inventory.site.dhcp.subnet) : undefined;
    const note = (event: string, cause: string) => {
      store.appendEvent({ machine: m.name, kind: 'power', event, cause, actor: 'system' })
        .catch((err) => logger.error({ err, machine: m.name }, 'recording a power event failed'));
    };
    const power = createManagedPower(m, {
      env: process.env, baseDir: loaded.baseDir,
      siteBroadcast: subnet ? formatIPv4(subnet.last) : undefined,
      onInstruction: (_name, text) => note('instruction', text),
    }, {
      log: logger, metrics,
      onNote: (n) => { if (n.outcome !== 'ok') note(`${n.action}_${n.outcome}`, n.detail ?? `${n.driver} ${n.action} ${n.outcome}`); },
    });
    cache.set(m.name, { key, power });
    return power;
  };
}

/**
 * A machine DHCP just discovered starts its inspection at once, so the iPXE script it asks for
 * next boots the agent. It is already network-booting: no power action is needed (or possible:
 * nobody has told Rackhand its BMC yet).
 */
async function inspectDiscovered(store: Store, transitions: Transitions, name: string, cause: string, logger: Logger): Promise<MachineRecord | undefined> {
  try {
    return (await transitions.apply({ machine: name, event: 'inspect', actor: 'system', cause })).machine;
  } catch (err) {
    // Another path moved it first (an operator, a second DHCP packet): what it is now stands.
    logger.warn({ err, machine: name }, 'could not start the inspection of a discovered machine');
    return store.getMachine(name);
  }
}

async function syncMachines(store: Store, loaded: LoadedInventory, logger: Logger): Promise<void> {
  const changes = await store.syncInventory(machineSpecs(loaded.inventory), 'inventory');
  for (const c of changes) {
    logger.info({ machine: c.name, change: c.change, fields: c.fields ? Object.keys(c.fields) : undefined }, `inventory: ${c.name} ${c.change}`);
  }
}
