// What makes a daemon one rack among many (issue: many racks on one PostgreSQL), wired for
// serve.ts: its presence (heartbeat, duties), the work runner that boots the machines of the
// racks it serves, the takeovers it enqueues for a silent rack it stands in for, and the
// secondary segments it answers while their primary is silent. Without racks: the runner alone,
// over every machine (one daemon, or several sharing a store without racks).
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { LoadedInventory } from './core/inventory/load.js';
import type { RackDuties } from './core/inventory/racks.js';
import type { RackRecord, Store } from './core/store/types.js';
import type { Logger } from './log.js';
import { RackPresence } from './racks/presence.js';
import { WorkRunner, type WorkHandler } from './racks/work-runner.js';
import { SecondarySegments, type Closable, type SecondaryEntry } from './racks/secondary.js';

export interface RackServices {
  /** A random id per process: what the store knows this daemon by. */
  daemon: string;
  /** The racks whose machines this daemon works for now (null: no racks). */
  served(): (string | null)[];
  duties(): RackDuties | undefined;
  racks(): RackRecord[];
  /** Look for work now. */
  wake(): void;
  close(): Promise<void>;
}

export interface RackServiceDeps {
  store: Store;
  loaded: () => LoadedInventory;
  /** Boots a machine into its operation (orchestrate.ts). */
  boot: WorkHandler;
  logger: Logger;
  /** What other daemons may read about this one (its API address). */
  info: () => Record<string, unknown>;
  /** Opens DHCP and TFTP on another rack's segment; absent: this daemon serves no PXE. */
  startSecondary?: (entry: SecondaryEntry) => Promise<Closable>;
  /** This daemon's rack was taken over by another daemon: it must stop. */
  onLost: (reason: string) => void;
}

export async function startRackServices(deps: RackServiceDeps): Promise<RackServices> {
  const { store, logger } = deps;
  const daemon = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const rack = deps.loaded().rack;
  const secondary = deps.startSecondary ? new SecondarySegments(deps.startSecondary, logger) : undefined;
  let presence: RackPresence | undefined;
  // Machines with no rack (discovered before the inventory named racks) are any daemon's: their
  // work is claimed by one, and a timeout is one compare-and-set whoever sweeps it.
  const served = (): (string | null)[] => (presence ? [...presence.duties().serves, null] : [null]);
  const runner = new WorkRunner({
    store, daemon, logger,
    racks: served,
    handle: deps.boot,
  });
  const standing = new Set<string>();

  /** Each heartbeat: follow the secondary segments, and take over what a silent rack booted. */
  const onTick = (duties: RackDuties, known: RackRecord[]) => {
    void secondary?.update(duties.secondary);
    for (const r of duties.standingIn) {
      if (!standing.has(r)) logger.warn({ rack: r }, `rack ${r} is silent: standing in for it (power, timeouts, agent work)`);
    }
    for (const r of standing) if (!duties.standingIn.includes(r)) logger.info({ rack: r }, `rack ${r} is heard again: no longer standing in`);
    standing.clear();
    for (const r of duties.standingIn) standing.add(r);
    for (const silent of duties.standingIn) {
      const last = known.find((k) => k.name === silent);
      if (!last) continue;
      store.enqueueTakeovers(silent, last.daemon).then((taken) => {
        if (taken.length) {
          logger.warn({ rack: silent, machines: taken.map((w) => w.machine) }, `taking over ${taken.length} machine(s) mid-operation from rack ${silent}`);
          runner.wake();
        }
      }, (err: Error) => logger.warn({ error: err.message }, 'cannot enqueue takeovers'));
    }
  };

  if (rack) {
    const silentAfter = deps.loaded().inventory.site.rack_silent_after;
    presence = new RackPresence({
      store, rack, daemon, logger, silentAfter, onTick, onLost: deps.onLost,
      info: deps.info, inventory: () => deps.loaded().inventory,
    });
    await presence.start();
    logger.info({ rack, daemon, silentAfter }, `serving rack ${rack} as daemon ${daemon}`);
  }
  runner.start();

  return {
    daemon,
    served,
    duties: () => presence?.duties(),
    racks: () => presence?.racks() ?? [],
    wake: () => runner.wake(),
    async close() {
      await runner.close();
      await secondary?.close();
      await presence?.close();
    },
  };
}
