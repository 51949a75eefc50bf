// The power driver interface (SPEC §6, STYLE habit 10). Every driver answers the same five calls;
// vendor states and errors are translated inside the driver through tables, so the lifecycle only
// ever sees PowerState and PowerError.
import type { PowerErrorCode } from './errors.js';

export type PowerState = 'on' | 'off' | 'unknown';
export type BootTarget = 'pxe' | 'disk';
export type BootMode = 'uefi' | 'legacy';

export interface BootDeviceRequest {
  device: BootTarget;
  /** Firmware mode for the next boot; undefined leaves the BMC's current mode. */
  mode?: BootMode;
  /** Only one-time overrides are used: Rackhand sets PXE before each boot it drives. */
  persistent: false;
}

export interface CallOptions {
  /** Milliseconds this one call may take, BMC round trips included. */
  timeout?: number;
  signal?: AbortSignal;
}

/** What a driver can do; the wrapper consults this instead of catching UNSUPPORTED. */
export interface DriverCapabilities {
  /** getPowerState returns a real state (not always 'unknown'). */
  readsState: boolean;
  powerOff: boolean;
  bootDevice: boolean;
}

export interface PowerDriver {
  readonly kind: 'ipmi' | 'redfish' | 'wol' | 'manual';
  readonly capabilities: DriverCapabilities;
  /** Key of the BMC this driver talks to: calls with the same key are serialized. */
  readonly bmcKey: string;
  /** Checks the configuration and credentials can be loaded; throws PowerError. No BMC call. */
  validate(): Promise<void>;
  getPowerState(opts?: CallOptions): Promise<PowerState>;
  /**
   * Asks for the state; returns once the BMC accepted the request (the wrapper polls). Not safe
   * to repeat: an error whose `notSent` is false may mean the BMC acted anyway.
   */
  setPowerState(state: 'on' | 'off', opts?: CallOptions): Promise<PowerChange | void>;
  /** Hard power cycle (or power on when off). Not safe to repeat, as setPowerState. */
  reboot(opts?: CallOptions): Promise<PowerChange | void>;
  setBootDevice(req: BootDeviceRequest, opts?: CallOptions): Promise<void>;
  /** One look at a task the BMC started for a change (Redfish 202 + task monitor). */
  readTask?(task: PowerTask, opts?: CallOptions): Promise<TaskProgress>;
}

/** A BMC's work started by a change and still running: where to ask how it went. */
export interface PowerTask { monitor: string; task?: string }

/** What a change call returns when the BMC accepted it as a task. */
export interface PowerChange { task?: PowerTask }

export type TaskProgress = { state: 'running' } | { state: 'completed' } | { state: 'failed'; message: string };

export type { PowerErrorCode };
