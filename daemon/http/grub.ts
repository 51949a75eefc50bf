// GRUB's side of the Secure Boot chain (firmware → Debian's signed shim → Debian's signed GRUB
// network image → the signed Debian kernel). Pure text, no I/O.
//
// What Debian 12's signed grubnetx64.efi can do decides the shape: its built-in modules include
// tftp and efinet but not http, and under Secure Boot it loads no module from the network (seen
// here: it asks TFTP for grub/x86_64-efi/http.mod and gives up). So everything GRUB reads comes
// over TFTP from Rackhand: the static grub/grub.cfg (the same for every machine), which sources
// the machine's own config grub/MAC.cfg, generated per request from the same boot plan as the
// iPXE script (ipxe.ts planBoot), and served only to the machine's own address.
import type { BootPlan } from './ipxe.js';
import { bootText, kernelLine, kernelWord } from '../core/boot-text.js';
import { bootPaths } from '../core/urls.js';

/**
 * Where an installed system's EFI loader lives on its ESP, tried in order for local boot: the
 * removable-media path images carry, then the shims distributions install (FAT: any case).
 */
export const LOCAL_LOADERS: readonly string[] = [
  '/EFI/BOOT/BOOTX64.EFI', '/EFI/debian/shimx64.efi', '/EFI/ubuntu/shimx64.efi', '/EFI/rocky/shimx64.efi',
  '/EFI/redhat/shimx64.efi', '/EFI/centos/shimx64.efi',
];

/** The per-machine config beside grub/grub.cfg; the MAC is GRUB's $net_default_mac. */
export const GRUB_MACHINE_CONFIG = /^grub\/([0-9A-Fa-f:]{17})\.cfg$/;
export const grubMachineConfigPath = (mac: string): string => `grub/${mac}.cfg`;

/**
 * Text for `echo` and comments: bootText's safe set (no quote, backslash, `$`, `;`, newline),
 * inside single quotes, where GRUB takes every character literally.
 */
export function grubText(value: string, max?: number): string {
  return `'${bootText(value, max)}'`;
}

/**
 * The static grub/grub.cfg: $prefix is the folder GRUB was loaded from plus /grub, i.e.
 * (tftp,SERVER)/grub; $net_default_mac is the booting NIC's MAC, as GRUB writes it (lower case,
 * colons). A machine without a config of its own gets the refusal config from Rackhand, so the
 * lines after `source` run only when the transfer itself failed.
 */
export function grubStaticConfig(): string {
  return [
    '# Rackhand: the same for every Secure Boot machine; each then reads its own config.',
    'set timeout=0',
    'source "${prefix}/${net_default_mac}.cfg"',
    `echo ${grubText('Rackhand: no boot config could be read for this machine: retrying in 10 seconds')}`,
    'sleep 10',
    'reboot',
  ].join('\n') + '\n';
}

export interface GrubSite {
  /** http://ADDRESS:PORT: where the plan's kernel and initrd URLs point. */
  baseUrl: string;
  /** The TFTP server GRUB reads them from (this server's address on the machine's network). */
  tftpServer: string;
}

/**
 * A URL of the plan as a GRUB file path over TFTP: only files of Rackhand's own images
 * directory (http://ADDRESS:PORT/boot/PATH, which TFTP serves as PATH) can be reached.
 */
export function grubFile(url: string, site: GrubSite): string | undefined {
  const prefix = site.baseUrl + bootPaths.file('');
  if (!url.startsWith(prefix)) return undefined;
  const path = kernelWord(url.slice(prefix.length));
  const server = kernelWord(site.tftpServer);
  return path && server ? `(tftp,${server})/${path}` : undefined;
}

/** The GRUB config text for a plan: the same choices as renderScript, in GRUB's language. */
export function renderGrubConfig(plan: BootPlan, site: GrubSite): string {
  const lines = [`# Rackhand: ${bootText(plan.why)}`];
  const say = (text: string) => lines.push(`echo ${grubText(`Rackhand: ${text}`)}`);
  switch (plan.kind) {
    case 'agent':
    case 'installer': {
      const kernel = grubFile(plan.kernel, site);
      const initrd = grubFile(plan.initrd, site);
      if (!kernel || !initrd) {
        say(`cannot boot: the kernel or initrd is not a file Rackhand serves over TFTP (signed GRUB has no HTTP): ${plan.why}`);
        lines.push('sleep 10', 'exit 1');
        break;
      }
      say(plan.why);
      // planBoot made the arguments safe; kernelLine leaves safe text as it is.
      lines.push(`linux ${kernel} ${kernelLine(plan.args)}`, `initrd ${initrd}`, 'boot');
      // Reached only when boot failed: retry after a pause rather than fall through to disk.
      say('boot failed, retrying in 10 seconds');
      lines.push('sleep 10', 'reboot');
      break;
    }
    case 'local':
      say(plan.why);
      // GRUB 2.06's `exit` reports success to the firmware, which EDK2 takes for a finished boot
      // (it opens its setup menu instead of trying the disk): start the disk's own signed loader
      // where one is found, as MAAS does; the firmware checks it against its db as at power-on.
      lines.push(
        `for loader in ${LOCAL_LOADERS.join(' ')}; do`,
        '  if search --no-floppy --file --set=root $loader; then chainloader $loader; boot; fi',
        'done',
        // No ESP with a known loader: back to the firmware, which may try its next boot option.
        'exit 1',
      );
      break;
    case 'refuse':
      say(plan.why);
      lines.push('sleep 5', 'exit 1');
      break;
  }
  return lines.join('\n') + '\n';
}
