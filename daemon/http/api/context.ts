// What the API routes need from the daemon; also what the whole app is built from (a BootContext
// is a part of it). Kept apart from app.ts so the routes never import the app that mounts them.
import type { Registry } from 'prom-client';
import type { Principal, TokenBook } from './tokens.js';
import type { EventFeed, MachineRecord, Store } from '../../core/store/types.js';
import type { ManagedPower } from '../../power/index.js';
import type { Transitions } from '../../core/transitions.js';
import type { LoadedInventory } from '../../core/inventory/load.js';
import type { Logger } from '../../log.js';
import type { TraceSink } from '../../core/boot-trace.js';

export interface ApiContext {
  store: Store;
  tokens: TokenBook;
  inventory: () => LoadedInventory;
  logger: Logger;
  registry: Registry;
  version: string;
  startedAt: Date;
  stateDir: string;
  /** The one way to change a machine's state (logs it, boots it into new work). */
  transitions: Transitions;
  /** The machine's power driver, wrapped with serialization, retries and polling. */
  power: (machine: MachineRecord) => ManagedPower;
  /** Tells the DHCP server that these MACs' machines were forgotten (absent: no DHCP here). */
  forgotten?: (macs: string[]) => Promise<void>;
  /** Wakes held event reads (`GET /api/v1/events?wait=…`); absent, `wait` answers at once. */
  eventFeed?: EventFeed;
  /** Event reads held at once at most (default 1000); more are refused with 503. */
  maxHeldEventReads?: number;
  /** Dashboard live streams open at once at most (default 200); more are refused with 503. */
  maxUiStreams?: number;
  /** Where boot-time HTTP requests are told (the boot trace); absent: not traced. */
  bootTrace?: TraceSink;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

