// TFTP's view of the images directory: the same files HTTP /boot serves (core/boot-exposure.ts —
// loaders, agent/, images/, installers/, files profiles name) and nothing else, so the build
// scripts, their .deb cache and whatever an operator keeps beside them are not readable over
// TFTP either. Path rules (no "..", dotfiles, NUL, symlinks out) stay tftp/root.ts's. A path
// that is safe but not exposed is "file not found", exactly as if it were absent.
import { exposureOf } from './core/boot-exposure.js';
import type { LoadedInventory } from './core/inventory/load.js';
import { DEFAULT_LOADERS } from './core/boot-loaders.js';
import { directoryHandler, requestSegments, type TftpHandler } from './tftp/index.js';

/** Follows the inventory: a reload that moves the directory or changes the profiles takes effect at once. */
export function imagesTftpHandler(inventory: () => LoadedInventory): TftpHandler {
  // The open-directory handler caches the real root: kept while the folder stays the same.
  let current: { dir: string; handler: TftpHandler } | undefined;
  return async (path, client) => {
    const loaded = inventory();
    if (current?.dir !== loaded.imagesDir) current = { dir: loaded.imagesDir, handler: directoryHandler(loaded.imagesDir) };
    // Throws the access violation for unsafe paths, as the directory handler would.
    if (!exposureOf(loaded.inventory, DEFAULT_LOADERS).serves(requestSegments(path))) return undefined;
    return current.handler(path, client);
  };
}
