// What of the images directory HTTP /boot may serve: only what a booting machine needs. The
// directory also holds the build scripts, their .deb cache and whatever an operator keeps
// beside them; none of that is anyone's business on the provisioning network.
//
// Served: the loaders (the option-93 map, site.boot_files, and the iPXE, shim and GRUB names
// firmware asks for), everything under agent/, images/ and installers/, every file a profile
// names (image url and sha256_file, installer kernel and initrd), and FILE.sha256 for each.
// Pure: the caller supplies the default loader map and the inventory.
import type { Inventory } from './inventory/schema.js';
import { servedSegments } from './served-path.js';

/** Loader names firmware fetches beside the DHCP-announced one (Secure Boot's shim chain-loads GRUB). */
export const LOADER_NAMES: readonly string[] = [
  'undionly.kpxe', 'undionly.kkpxe', 'ipxe.pxe', 'ipxe.efi', 'snponly.efi', 'ipxe-arm64.efi', 'snponly-arm64.efi',
  'shimx64.efi', 'shimaa64.efi', 'grubx64.efi', 'grubnetx64.efi', 'grubaa64.efi', 'grubnetaa64.efi', 'mmx64.efi', 'mmaa64.efi',
];

/** Directories served whole: the deploy agent, disk images, installer kernels and initrds. */
export const SERVED_DIRS: readonly string[] = ['agent', 'images', 'installers'];

export interface BootExposure {
  /** Whether the path (segments already checked by servedSegments) may be served. */
  serves(segments: readonly string[]): boolean;
}

const isUrl = (s: string) => /^https?:\/\//.test(s);

/** A configured path in the canonical form requests are compared in ("a/b"), or undefined when it is unsafe or a URL. */
function canonical(path: string): string | undefined {
  if (isUrl(path)) return undefined;
  const verdict = servedSegments(path);
  return verdict.ok ? verdict.segments.join('/') : undefined;
}

/** One exposure per inventory object: HTTP /boot and TFTP share it, rebuilt only when a reload makes a new inventory. */
const built = new WeakMap<object, BootExposure>();

export function exposureOf(inventory: Pick<Inventory, 'site' | 'profiles'>, defaultLoaders: Readonly<Record<number, string>>): BootExposure {
  let e = built.get(inventory);
  if (!e) { e = bootExposure(inventory, defaultLoaders); built.set(inventory, e); }
  return e;
}

export function bootExposure(inventory: Pick<Inventory, 'site' | 'profiles'>, defaultLoaders: Readonly<Record<number, string>>): BootExposure {
  const files = new Set<string>();
  const add = (p: string | undefined) => { const c = p === undefined ? undefined : canonical(p); if (c) files.add(c); };
  for (const name of LOADER_NAMES) add(name);
  for (const name of Object.values(defaultLoaders)) add(name);
  for (const name of Object.values(inventory.site.boot_files)) add(name);
  for (const profile of Object.values(inventory.profiles)) {
    if (profile.kind === 'image') {
      add(profile.image.url);
      add(profile.image.sha256_file);
    } else {
      add(profile.kernel);
      add(profile.initrd);
    }
  }
  return {
    serves(segments) {
      if (segments.length === 0) return false;
      if (segments.length > 1 && SERVED_DIRS.includes(segments[0]!)) return true;
      return files.has(segments.join('/'));
    },
  };
}
