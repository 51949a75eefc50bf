// Manual power: there is no BMC, an operator presses the button. Each call records what they
// must do (through onInstruction, which the core turns into an event the CLI shows); the state
// is unknown, and the lifecycle waits for the agent or the installer to call home as usual.
import type { BootDeviceRequest, PowerDriver, PowerState } from './types.js';

export interface ManualConfig {
  machine: string;
  mac?: string;
  onInstruction?: (text: string) => void;
}

export class ManualDriver implements PowerDriver {
  readonly kind = 'manual' as const;
  readonly capabilities = { readsState: false, powerOff: true, bootDevice: true };
  readonly bmcKey: string;
  /** Everything asked of the operator, oldest first. */
  readonly instructions: string[] = [];

  constructor(private readonly cfg: ManualConfig) {
    this.bmcKey = `manual:${cfg.machine}`;
  }

  async validate(): Promise<void> {}
  async getPowerState(): Promise<PowerState> { return 'unknown'; }

  async setPowerState(state: 'on' | 'off'): Promise<void> {
    this.say(`power ${state} ${this.who()} by hand`);
  }

  async reboot(): Promise<void> {
    this.say(`power cycle ${this.who()} by hand (on, if it is off)`);
  }

  async setBootDevice(req: BootDeviceRequest): Promise<void> {
    const mode = req.mode ? ` in ${req.mode === 'uefi' ? 'UEFI' : 'legacy BIOS'} mode` : '';
    this.say(`make ${this.who()} boot from ${req.device === 'pxe' ? 'the network (PXE)' : 'its disk'}${mode} on its next start`);
  }

  private who(): string { return this.cfg.mac ? `${this.cfg.machine} (${this.cfg.mac})` : this.cfg.machine; }

  private say(text: string): void {
    this.instructions.push(text);
    this.cfg.onInstruction?.(text);
  }
}
