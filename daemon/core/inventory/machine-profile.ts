// Which profile governs a machine now: the one it is being (or was last) deployed with, else the
// one the inventory gives it. Boot scripts, templates, erase policy and timeouts all ask this.
import type { Inventory, Profile } from './schema.js';
import type { MachineRecord } from '../store/types.js';

export function machineProfile(inventory: Pick<Inventory, 'profiles'>, m: Pick<MachineRecord, 'deployProfile' | 'profile'>): { name: string; profile: Profile } | undefined {
  const name = m.deployProfile ?? m.profile;
  const profile = name ? inventory.profiles[name] : undefined;
  return name && profile ? { name, profile } : undefined;
}
