// What the boot-time HTTP routes need from the daemon.
import type { LoadedInventory } from '../core/inventory/load.js';
import type { Store } from '../core/store/types.js';
import type { Logger } from '../log.js';
import type { Transitions } from '../core/transitions.js';

export interface BootContext {
  store: Store;
  inventory: () => LoadedInventory;
  logger: Logger;
  /** Per-operation agent logs are written beneath it. */
  stateDir: string;
  /** The one way to change a machine's state (logs it, boots it into new work). */
  transitions: Transitions;
}
