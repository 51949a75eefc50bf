// Where the daemon and the CLI find things when not told: the state directory (systemd's
// STATE_DIRECTORY under the unit, ./var in a checkout) and the inventory file.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export function defaultStateDir(): string {
  return process.env.RACKHAND_STATE_DIR ?? process.env.STATE_DIRECTORY?.split(':')[0] ?? resolve('var');
}

export function defaultInventory(): string {
  if (process.env.RACKHAND_INVENTORY) return process.env.RACKHAND_INVENTORY;
  return existsSync('inventory.yaml') ? resolve('inventory.yaml') : '/etc/rackhand/inventory.yaml';
}
