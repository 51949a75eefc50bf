// From a machine's stored power section (inventory schema: ipmi, redfish, wol, manual) to a
// driver, and to the managed wrapper the lifecycle calls. The only place that reads PowerSpec.
import type { PowerSpec } from '../core/store/types.js';
import type { CredentialOptions } from './credentials.js';
import { PowerError } from './errors.js';
import { IpmiDriver, type IpmiDeps } from './ipmi.js';
import { ManagedPower, type ManagedOptions } from './managed.js';
import { ManualDriver } from './manual.js';
import { RedfishDriver } from './redfish.js';
import { redfishSessions } from './redfish-session.js';
import type { PowerDriver } from './types.js';
import { WolDriver } from './wol.js';

export { PowerError } from './errors.js';
export { ManagedPower } from './managed.js';
export type { PowerDriver, PowerState, BootDeviceRequest } from './types.js';

export interface DriverDeps extends CredentialOptions {
  /** Broadcast address of the provisioning interface (wol without power.broadcast). */
  siteBroadcast?: string;
  /** Manual driver: what the operator must do, for an event. */
  onInstruction?: (machine: string, text: string) => void;
  ipmi?: Omit<IpmiDeps, keyof CredentialOptions>;
}

export interface PowerMachine { name: string; mac: string; power: PowerSpec }

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

export function createDriver(m: PowerMachine, deps: DriverDeps = {}): PowerDriver {
  const p = m.power;
  const creds = { password_env: str(p.password_env), password_file: str(p.password_file) };
  const need = (field: string): string => {
    const v = str(p[field]);
    if (!v) throw new PowerError('CONFIG', m.name, 'validate', `power.${field} is required for the ${p.driver} driver`);
    return v;
  };
  switch (p.driver) {
    case 'ipmi':
      return new IpmiDriver({
        machine: m.name, address: need('address'), port: num(p.port), username: need('username'), ...creds,
        cipher_suite: num(p.cipher_suite), fallback_cipher_suite: num(p.fallback_cipher_suite),
      }, { ...deps.ipmi, env: deps.env, baseDir: deps.baseDir });
    case 'redfish':
      return new RedfishDriver({
        machine: m.name, address: need('address'), port: num(p.port), username: need('username'), ...creds,
        system: str(p.system), ca_file: str(p.ca_file), insecure: p.insecure === true,
        boot_mode: p.boot_mode === 'UEFI' || p.boot_mode === 'Legacy' ? p.boot_mode : undefined,
        auth: p.auth === 'session' || p.auth === 'basic' ? p.auth : 'auto',
      }, { env: deps.env, baseDir: deps.baseDir });
    case 'wol': {
      const broadcast = str(p.broadcast) ?? deps.siteBroadcast;
      if (!broadcast) throw new PowerError('CONFIG', m.name, 'validate', 'wol needs power.broadcast or the provisioning interface\'s broadcast address');
      return new WolDriver({ machine: m.name, mac: m.mac, broadcast, port: num(p.port) });
    }
    case 'manual':
      return new ManualDriver({ machine: m.name, mac: m.mac, onInstruction: deps.onInstruction && ((t) => deps.onInstruction!(m.name, t)) });
    default:
      throw new PowerError('CONFIG', m.name, 'validate', `unknown power driver ${JSON.stringify(p.driver)}: use ipmi, redfish, wol or manual`);
  }
}

export function createManagedPower(m: PowerMachine, deps: DriverDeps = {}, opts: Omit<ManagedOptions, 'machine'> = {}): ManagedPower {
  return new ManagedPower(createDriver(m, deps), { ...opts, machine: m.name });
}

/** Logs out of every BMC session the drivers hold (daemon shutdown). */
export function closePowerSessions(): Promise<void> {
  return redfishSessions.closeAll();
}
