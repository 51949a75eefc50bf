// Which loader each client architecture gets by default: DHCP hands it out, TFTP and HTTP serve
// it (and nothing else of the images directory's top level unless the site names it). Data that
// every boot server reads, so it lives in core, not in one of them.

/** RFC 4578 §2.1 / IANA "Processor Architecture Types" → the loader served by default. */
export const DEFAULT_LOADERS: Readonly<Record<number, string>> = {
  0: 'undionly.kpxe', // x86 BIOS
  6: 'ipxe.efi',      // x86 UEFI (32-bit ids seen on x64 firmware in the wild)
  7: 'ipxe.efi',      // x64 UEFI
  9: 'ipxe.efi',      // EBC (x64 UEFI firmware that reports 9)
  16: 'ipxe.efi',     // x64 UEFI HTTP boot: served as an http:// URL
};

/**
 * Secure Boot machines (core/secure-boot.ts) of these architectures get Debian's signed shim
 * instead; shim loads `grubx64.efi` (Debian's signed GRUB network image) from the same folder or
 * URL directory, and GRUB reads `grub/grub.cfg` beside it (http/grub.ts).
 */
export const SECURE_BOOT_LOADERS: Readonly<Record<number, string>> = {
  6: 'shimx64.efi',
  7: 'shimx64.efi',
  9: 'shimx64.efi',
};

/**
 * UEFI HTTP Boot (arch 16) could fetch shim and GRUB over HTTP, but Debian 12's signed GRUB
 * network image has no http module (and under Secure Boot loads none), so it could read neither
 * its config nor a kernel: such machines are not answered for HTTP Boot, and boot by PXE.
 */
export const SECURE_BOOT_HTTP_ARCHS: ReadonlySet<number> = new Set([16]);

/** The file shim chain-loads, and GRUB's static config (its $prefix is the loader's folder + /grub). */
export const SECURE_BOOT_GRUB = 'grubx64.efi';
export const GRUB_CONFIG_PATH = 'grub/grub.cfg';
