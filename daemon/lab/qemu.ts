// QEMU command lines for lab VMs. Pure: builds argv, starts nothing. The facts behind each flag
// are in ../shared/NOTES.md: /dev/kvm here triple-faults in real mode, so always TCG; iPXE ROMs
// come from ipxe-qemu; OVMF wants q35 and two pflash drives.

export interface QemuVmOptions {
  name: string;
  /** Memory in MiB; 512 for a PXE-booting lab VM, 128 for a process that only has to exist. */
  memory?: number;
  /** NIC MAC; with tap the VM joins a bridge, otherwise QEMU's user network (or none). */
  mac?: string;
  net?: { kind: 'tap'; ifname: string } | { kind: 'user' } | { kind: 'none' };
  /** Virtio disk image (raw or qcow2, by extension). */
  disk?: string;
  firmware?: 'bios' | 'uefi';
  /** UEFI: a writable copy of OVMF_VARS_4M.fd for this VM. */
  ovmfVars?: string;
  ovmfCode?: string;
  /** 'n' boots the network first, 'c' the disk (BIOS -boot order). */
  bootOrder?: string;
  /**
   * One-time boot device for this start. BIOS: -boot once=X. OVMF ignores -boot, so under UEFI
   * the device gets bootindex=0 (QEMU passes it to the firmware as its boot order); without it
   * the disk comes first, as on a server whose persistent order is disk, then network. QEMU
   * re-reads bootindex at each reset, so the emulator restores that order over QMP once the
   * firmware has started (see UEFI_DEVICE_IDS).
   */
  bootOnce?: 'n' | 'c';
  /**
   * false: the NIC has no option ROM (`romfile=`), so the firmware's own network boot runs, as on
   * a server whose NIC is not flashed with iPXE. Under OVMF that is its PXE client (DHCP with
   * PXEClient arch 7, then a TFTP download of the loader, which asks DHCP again as iPXE);
   * about 30 s more per network boot under TCG. SeaBIOS has no PXE of its own: BIOS keeps the ROM.
   * Default: QEMU's iPXE ROM from ipxe-qemu.
   */
  nicRom?: boolean;
  /** Connects the VM to an ipmi_sim `serial kcs … codec VM` listener. */
  ipmiBmc?: { host: string; port: number };
  /** QMP control socket (unix path). */
  qmpSocket?: string;
  /** Console to a file; undefined: no serial at all. */
  serialFile?: string;
  pidFile?: string;
  noReboot?: boolean;
  /** -display none instead of -nographic: needed when the VM is started with -daemonize. */
  headless?: boolean;
  extra?: string[];
}

export const QEMU_BINARY = 'qemu-system-x86_64';
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

/** QOM ids (/machine/peripheral/ID) of the disk and NIC, whose bootindex QMP can change. */
export const UEFI_DEVICE_IDS = { c: 'disk0', n: 'nic0' } as const;

export function qemuArgs(o: QemuVmOptions): string[] {
  const a: string[] = ['-name', o.name, '-accel', 'tcg', '-m', String(o.memory ?? 512)];
  if (o.firmware === 'uefi') {
    a.push('-machine', 'q35');
    a.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${o.ovmfCode ?? OVMF_CODE}`);
    if (o.ovmfVars) a.push('-drive', `if=pflash,format=raw,unit=1,file=${o.ovmfVars}`);
  }
  a.push('-nodefaults');
  if (o.serialFile) a.push('-serial', `file:${o.serialFile}`, '-display', 'none');
  else if (o.headless) a.push('-display', 'none');
  else a.push('-nographic');
  const uefi = o.firmware === 'uefi';
  const first = o.bootOnce ?? 'c';
  const index = (dev: 'n' | 'c') => (uefi ? `,id=${UEFI_DEVICE_IDS[dev]},bootindex=${first === dev ? 0 : 1}` : '');
  if (o.disk) {
    const fmt = o.disk.endsWith('.qcow2') ? 'qcow2' : 'raw';
    a.push('-drive', `if=none,id=d0,format=${fmt},file=${o.disk}`, '-device', `virtio-blk-pci,drive=d0${index('c')}`);
  }
  const net = o.net ?? (o.mac ? { kind: 'user' as const } : { kind: 'none' as const });
  if (net.kind === 'tap') a.push('-netdev', `tap,id=n0,ifname=${net.ifname},script=no,downscript=no`);
  if (net.kind === 'user') a.push('-netdev', 'user,id=n0');
  const rom = o.nicRom === false ? ',romfile=' : '';
  if (net.kind !== 'none') a.push('-device', `virtio-net-pci,netdev=n0${o.mac ? `,mac=${o.mac}` : ''}${rom}${index('n')}`);
  if (o.bootOrder) a.push('-boot', o.bootOrder);
  if (o.bootOnce && !uefi) a.push('-boot', `once=${o.bootOnce}`);
  if (o.ipmiBmc) {
    // reconnect=10: QEMU keeps trying while ipmi_sim restarts; without it a refused connect is fatal.
    a.push('-chardev', `socket,id=ipmi0,host=${o.ipmiBmc.host},port=${o.ipmiBmc.port},reconnect=10`);
    a.push('-device', 'ipmi-bmc-extern,chardev=ipmi0,id=bmc0', '-device', 'isa-ipmi-kcs,bmc=bmc0');
  }
  if (o.qmpSocket) a.push('-qmp', `unix:${o.qmpSocket},server=on,wait=off`);
  if (o.pidFile) a.push('-pidfile', o.pidFile);
  if (o.noReboot) a.push('-no-reboot');
  if (o.extra) a.push(...o.extra);
  return a;
}

/** Quotes argv for a config file that a shell-like parser reads (ipmi_sim's startcmd). */
export function shellQuote(args: readonly string[]): string {
  return args.map((s) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)).join(' ');
}
