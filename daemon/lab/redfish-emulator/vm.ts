// One emulated machine: a QEMU process the emulator starts and stops, controlled through QMP.
// "On" means the process runs. The boot override is applied when the process starts (QEMU's
// boot order is fixed per process), the way a real BMC applies it on the next POST.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, openSync, closeSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { qemuArgs, QEMU_BINARY, OVMF_VARS, UEFI_DEVICE_IDS, type QemuVmOptions } from '../qemu.js';
import { Qmp } from './qmp.js';

export interface BootOverride {
  enabled: 'Disabled' | 'Once' | 'Continuous';
  target: string;
  mode: 'UEFI' | 'Legacy';
}

export interface VmStart { at: string; argv: string[]; pid: number }

export class EmulatedVm {
  private child: ChildProcess | undefined;
  private qmp: Qmp | undefined;
  /** Every start, oldest first: tests read the argv to see the override applied. */
  readonly starts: VmStart[] = [];

  constructor(readonly id: string, private readonly dir: string, private readonly base: QemuVmOptions) {
    mkdirSync(dir, { recursive: true });
  }

  get running(): boolean { return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null; }
  get pid(): number | undefined { return this.running ? this.child?.pid : undefined; }

  /** Starts QEMU with the override; returns whether a one-time override was consumed. */
  async start(boot: BootOverride): Promise<boolean> {
    if (this.running) return false;
    const active = boot.enabled !== 'Disabled' && boot.target !== 'None';
    const bootOnce = active ? (boot.target === 'Pxe' ? 'n' : boot.target === 'Hdd' ? 'c' : undefined) : undefined;
    const firmware = boot.mode === 'UEFI' ? 'uefi' : 'bios';
    let ovmfVars: string | undefined;
    if (firmware === 'uefi') {
      ovmfVars = join(this.dir, 'OVMF_VARS.fd');
      if (!existsSync(ovmfVars)) copyFileSync(OVMF_VARS, ovmfVars);
    }
    const qmpSocket = join(this.dir, 'qmp.sock');
    rmSync(qmpSocket, { force: true });
    const argv = [QEMU_BINARY, ...qemuArgs({ ...this.base, headless: this.base.serialFile === undefined, firmware, ovmfVars, bootOnce, qmpSocket })];
    if (boot.enabled === 'Continuous' && bootOnce) argv.push('-boot', `order=${bootOnce}`);
    const log = openSync(join(this.dir, 'qemu.log'), 'a');
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    await new Promise<void>((resolve, reject) => { child.once('spawn', resolve); child.once('error', reject); });
    this.starts.push({ at: new Date().toISOString(), argv, pid: child.pid! });
    try {
      this.qmp = await Qmp.connect(qmpSocket);
    } catch (err) {
      await this.kill();
      throw new Error(`QEMU for ${this.id} did not open QMP: ${(err as Error).message}`);
    }
    if (firmware === 'uefi' && boot.enabled === 'Once' && bootOnce === 'n' && this.base.disk) await this.restoreDiskFirst();
    return boot.enabled === 'Once' && active;
  }

  /**
   * A one-time override lasts one POST, as BootNext does on a real BMC. QEMU hands the firmware
   * its boot order at each reset, so setting it back now makes the guest's next reboot (the
   * agent's, after writing the image) go to the disk instead of walking every network boot
   * option (PXE and HTTP, IPv4 and IPv6) first. Two indexes cannot be equal even for a moment,
   * hence the detour through 2.
   */
  private async restoreDiskFirst(): Promise<void> {
    const set = (dev: 'n' | 'c', value: number) =>
      this.qmp?.execute('qom-set', { path: `/machine/peripheral/${UEFI_DEVICE_IDS[dev]}`, property: 'bootindex', value });
    await set('n', 2);
    await set('c', 0);
    await set('n', 1);
  }

  /** ACPI power button: a guest OS shuts down; a guest with none stays on (as on hardware). */
  async powerButton(): Promise<void> {
    if (this.running) await this.qmp?.execute('system_powerdown');
  }

  async nmi(): Promise<void> {
    if (this.running) await this.qmp?.execute('inject-nmi');
  }

  /** Hard off: QMP quit, then SIGKILL by PID if QEMU does not exit within 3 s. */
  async forceOff(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try { await Promise.race([this.qmp?.execute('quit'), exited]); } catch { /* the socket closes as QEMU quits */ }
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
    this.qmp?.close();
    this.qmp = undefined;
  }

  /** For shutdown of the emulator: no QMP, just the process. */
  async kill(): Promise<void> {
    const child = this.child;
    this.qmp?.close();
    this.qmp = undefined;
    if (!child || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  }
}
