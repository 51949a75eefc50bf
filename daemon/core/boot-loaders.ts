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
