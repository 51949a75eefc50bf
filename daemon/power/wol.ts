// Wake-on-LAN: a magic packet (6 × 0xff, then the MAC 16 times) by UDP broadcast to port 9.
// It can only wake a machine: no off, no state, no boot device (the NIC's firmware must already
// boot from the network first). The packet goes out three times since UDP may drop one.
import { createSocket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { PowerError } from './errors.js';
import type { BootDeviceRequest, PowerDriver, PowerState } from './types.js';

export interface WolConfig {
  machine: string;
  mac: string;
  /** power.broadcast, else the provisioning interface's broadcast address. */
  broadcast: string;
  port?: number;
}

export function magicPacket(mac: string): Buffer {
  const hex = mac.replace(/[:-]/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) throw new Error(`not a MAC address: ${mac}`);
  const macBytes = Buffer.from(hex, 'hex');
  return Buffer.concat([Buffer.alloc(6, 0xff), ...Array.from({ length: 16 }, () => macBytes)]);
}

export class WolDriver implements PowerDriver {
  readonly kind = 'wol' as const;
  readonly capabilities = { readsState: false, powerOff: false, bootDevice: false };
  readonly bmcKey: string;

  constructor(private readonly cfg: WolConfig, private readonly deps: { copies?: number } = {}) {
    this.bmcKey = `wol:${cfg.mac}`;
  }

  async validate(): Promise<void> {
    try { magicPacket(this.cfg.mac); } catch (err) {
      throw new PowerError('CONFIG', this.cfg.machine, 'validate', (err as Error).message);
    }
    if (!this.cfg.broadcast) throw new PowerError('CONFIG', this.cfg.machine, 'validate', 'wol needs a broadcast address (power.broadcast or the site interface)');
  }

  async getPowerState(): Promise<PowerState> { return 'unknown'; }

  async setPowerState(state: 'on' | 'off'): Promise<void> {
    if (state === 'off') throw new PowerError('UNSUPPORTED', this.cfg.machine, 'off', 'Wake-on-LAN can only power a machine on');
    await this.send();
  }

  async reboot(): Promise<void> {
    throw new PowerError('UNSUPPORTED', this.cfg.machine, 'cycle', 'Wake-on-LAN cannot reset a running machine');
  }

  /** Nothing to set: the machine's firmware must list network boot first. */
  async setBootDevice(_req: BootDeviceRequest): Promise<void> {}

  private async send(): Promise<void> {
    const packet = magicPacket(this.cfg.mac);
    const sock = createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(0, () => { sock.setBroadcast(true); resolve(); });
      });
      for (let i = 0; i < (this.deps.copies ?? 3); i++) {
        await new Promise<void>((resolve, reject) => sock.send(packet, this.cfg.port ?? 9, this.cfg.broadcast, (err) => (err ? reject(err) : resolve())));
      }
    } catch (err) {
      throw new PowerError('UNREACHABLE', this.cfg.machine, 'on', `magic packet to ${this.cfg.broadcast}: ${(err as Error).message}`);
    } finally {
      sock.close();
    }
  }
}

/** The IPv4 broadcast address of a local interface (address | ~netmask), or undefined. */
export function interfaceBroadcast(ifname: string, interfaces = networkInterfaces()): string | undefined {
  const v4 = interfaces[ifname]?.find((a) => a.family === 'IPv4');
  if (!v4) return undefined;
  const a = v4.address.split('.').map(Number);
  const m = v4.netmask.split('.').map(Number);
  return a.map((x, i) => (x | (~m[i]! & 0xff)) & 0xff).join('.');
}
