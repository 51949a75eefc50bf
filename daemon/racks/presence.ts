// A rack daemon's presence in the shared store: it heartbeats every few seconds, reads who else
// is heard from, and works out its duties (racks.ts rackDuties): its own rack always; a silent
// rack's work when it is that rack's standby; a secondary segment's DHCP while its primary is
// silent. Two daemons never serve one rack: the first heartbeat is refused while another daemon
// holds the rack and is heard from, and a daemon whose rack was taken over meanwhile (it was
// silent too long, e.g. cut off from the database) learns so at its next heartbeat and stops.
import { hostname } from 'node:os';
import { rackDuties, type RackDuties } from '../core/inventory/racks.js';
import type { ParsedInventory } from '../core/inventory/schema.js';
import type { RackRecord, RackStore } from '../core/store/types.js';
import type { Logger } from '../log.js';
import { StoreUnavailable } from '../core/store/availability.js';

export class RackTaken extends Error {}

/** A daemon id is HOST:PID:RANDOM (rack-services.ts): true when HOST is this one and PID runs no more. */
export function deadOnThisHost(daemon: string, host = hostname()): boolean {
  const m = /^(.*):(\d+):[0-9a-f]+$/.exec(daemon);
  if (!m || m[1] !== host) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (err) {
    // EPERM: a process of another user has that pid now; alive as far as we can tell.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface PresenceOptions {
  store: RackStore;
  rack: string;
  daemon: string;
  /** What others may read about this daemon (its API address, segments). */
  info: () => Record<string, unknown>;
  silentAfter: number;
  inventory: () => Pick<ParsedInventory, 'racks'>;
  logger: Logger;
  /** After every look at the other racks (a tick), with what is known. */
  onTick: (duties: RackDuties, racks: RackRecord[]) => void;
  /** The rack was taken over by another daemon: this one must stop serving it. */
  onLost: (reason: string) => void;
}

export class RackPresence {
  private timer: NodeJS.Timeout | undefined;
  private current: RackDuties;
  private known: RackRecord[] = [];
  private failingSince: number | undefined;
  private ticking: Promise<void> = Promise.resolve();

  constructor(private readonly o: PresenceOptions) {
    // Until the first look, only its own rack.
    this.current = { serves: [o.rack], standingIn: [], secondary: [] };
  }

  /** The first heartbeat; refused (RackTaken) while another live daemon holds the rack. */
  async start(): Promise<void> {
    let r = await this.o.store.heartbeat(this.o.rack, this.o.daemon, this.o.info(), this.o.silentAfter);
    // The holder is a daemon of this host whose process is gone (it crashed, and systemd restarts
    // us): no need to wait out its silence.
    if (!r.ok && deadOnThisHost(r.holder)) {
      this.o.logger.warn({ rack: this.o.rack, previous: r.holder }, `the previous daemon of rack ${this.o.rack} on this host is gone: taking the rack over at once`);
      r = await this.o.store.heartbeat(this.o.rack, this.o.daemon, this.o.info(), 0);
    }
    if (!r.ok) throw new RackTaken(`rack ${this.o.rack} is served by daemon ${r.holder} (heard ${r.silentFor.toFixed(1)} s ago): one daemon per rack`);
    await this.look();
    // Several heartbeats per silence limit: one lost write or slow tick does not make it silent.
    const every = Math.max(1, this.o.silentAfter / 5) * 1000;
    this.timer = setInterval(() => { this.ticking = this.ticking.then(() => this.tick()); }, every);
    this.timer.unref();
  }

  duties(): RackDuties { return this.current; }
  racks(): RackRecord[] { return this.known; }

  private async tick(): Promise<void> {
    try {
      const r = await this.o.store.heartbeat(this.o.rack, this.o.daemon, this.o.info(), this.o.silentAfter);
      if (!r.ok) {
        clearInterval(this.timer);
        this.o.onLost(`rack ${this.o.rack} was taken over by daemon ${r.holder} while this daemon was not heard from`);
        return;
      }
      await this.look();
      if (this.failingSince !== undefined) {
        this.o.logger.info({ rack: this.o.rack, seconds: (Date.now() - this.failingSince) / 1000 }, 'rack heartbeat written again');
        this.failingSince = undefined;
      }
    } catch (err) {
      // Logged once per outage; the database being away is told by the store's own log too.
      if (this.failingSince === undefined) {
        this.failingSince = Date.now();
        if (!(err instanceof StoreUnavailable)) this.o.logger.warn({ rack: this.o.rack, error: (err as Error).message }, 'rack heartbeat failed: retrying');
      }
    }
  }

  private async look(): Promise<void> {
    this.known = await this.o.store.listRacks();
    this.current = rackDuties(this.o.inventory(), this.o.rack, this.known, this.o.silentAfter);
    this.o.onTick(this.current, this.known);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
    // A clean stop lets the rack's next daemon in at once (a restart); its standby still waits out the silence.
    await this.o.store.rackStopped(this.o.rack, this.o.daemon).catch(() => undefined);
  }
}
