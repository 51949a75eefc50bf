// Which machines boot through Secure Boot's signed chain (Debian's shim → signed GRUB → signed
// kernel) instead of iPXE: `secure_boot` on the machine, else on its inventory profile, else on
// the site. Discovered machines (no inventory entry) follow the site. Pure; the lookup is built
// once per inventory object, since DHCP asks on every packet.
import type { Inventory, MachineEntry } from './inventory/schema.js';

/** The setting for one inventory machine (machine overrides profile overrides site). */
export function secureBootOf(inventory: Pick<Inventory, 'site' | 'profiles'>, machine: Pick<MachineEntry, 'secure_boot' | 'profile'> | undefined): boolean {
  if (machine?.secure_boot !== undefined) return machine.secure_boot;
  const profile = machine?.profile ? inventory.profiles[machine.profile] : undefined;
  if (profile?.secure_boot !== undefined) return profile.secure_boot;
  return inventory.site.secure_boot;
}

const lookups = new WeakMap<object, (name: string) => boolean>();

/** Machine name → whether it boots the signed chain, for the inventory as it is now. */
export function secureBootLookup(inventory: Pick<Inventory, 'site' | 'profiles' | 'machines'>): (name: string) => boolean {
  let lookup = lookups.get(inventory);
  if (!lookup) {
    const byName = new Map(inventory.machines.map((m) => [m.name, secureBootOf(inventory, m)]));
    const fallback = inventory.site.secure_boot;
    lookup = (name) => byName.get(name) ?? fallback;
    lookups.set(inventory, lookup);
  }
  return lookup;
}
