// Pure Redfish tables: vendor power states → ours, which ResetType to send for what we want
// (from what the system lists in ResetType@Redfish.AllowableValues), boot targets, and the text
// of a Redfish error body. Kept apart from HTTP so unit tests read like the tables.
import type { PowerErrorCode } from './errors.js';
import type { BootTarget, PowerState } from './types.js';

/** ComputerSystem.PowerState → ours. Transitional states read as unknown: the poll goes on. */
export const POWER_STATES: Record<string, PowerState> = {
  On: 'on',
  Off: 'off',
  PoweringOn: 'unknown',
  PoweringOff: 'unknown',
  Paused: 'unknown',
};

export type ResetIntent = 'on' | 'off' | 'cycle';

/** Preferred ResetType per intent, best first. A hard off: provisioning cannot wait for an OS. */
export const RESET_PREFERENCES: Record<ResetIntent, readonly string[]> = {
  on: ['On', 'ForceOn'],
  off: ['ForceOff', 'GracefulShutdown'],
  cycle: ['PowerCycle', 'ForceRestart', 'GracefulRestart'],
};

/**
 * The ResetType to send. `allowable` undefined: the system lists none, so the schema's own
 * names are assumed and the first preference is used. A system that is off is "cycled" by
 * turning it on: many BMCs refuse PowerCycle/ForceRestart on a machine that is off.
 */
export function chooseResetType(intent: ResetIntent, allowable: readonly string[] | undefined, state: PowerState = 'unknown'): string | undefined {
  return resetTypeCandidates(intent, allowable, state)[0];
}

/**
 * Every ResetType that would do, best first. Some BMCs list a type they then refuse (sushy-tools
 * lists PowerCycle and answers it 501): the next one is tried after such a refusal.
 */
export function resetTypeCandidates(intent: ResetIntent, allowable: readonly string[] | undefined, state: PowerState = 'unknown'): string[] {
  const want = intent === 'cycle' && state === 'off' ? RESET_PREFERENCES.on : RESET_PREFERENCES[intent];
  return allowable ? want.filter((t) => allowable.includes(t)) : [...want];
}

/** An answer saying "not this ResetType" (nothing was done): 501, or 400 naming the value. */
export function refusesResetType(status: number, messageIds: readonly string[]): boolean {
  return status === 501 || (status === 400 && messageIds.some((id) => /NotSupported|NotInList|ValueNotInList|ActionParameterValue/.test(id)));
}

export const BOOT_TARGETS: Record<BootTarget, string> = { pxe: 'Pxe', disk: 'Hdd' };
export const BOOT_MODES = { uefi: 'UEFI', legacy: 'Legacy' } as const;

interface ExtendedInfo { MessageId?: unknown; Message?: unknown; Resolution?: unknown }

/** The human text of a Redfish error body: every @Message.ExtendedInfo Message, else error.message. */
export function redfishErrorText(body: unknown): { text: string; messageIds: string[] } {
  const err = (body as { error?: { message?: unknown; '@Message.ExtendedInfo'?: unknown } } | undefined)?.error;
  const infos = Array.isArray(err?.['@Message.ExtendedInfo']) ? (err['@Message.ExtendedInfo'] as ExtendedInfo[]) : [];
  const texts = infos.map((i) => (typeof i.Message === 'string' ? i.Message : '')).filter(Boolean);
  const ids = infos.map((i) => (typeof i.MessageId === 'string' ? i.MessageId : '')).filter(Boolean);
  if (texts.length === 0 && typeof err?.message === 'string') texts.push(err.message);
  return { text: texts.join(' '), messageIds: ids };
}

/** HTTP status (and message ids) → our error code. */
export function codeForStatus(status: number, messageIds: readonly string[] = []): PowerErrorCode {
  if (status === 401 || status === 403) return 'AUTH_FAILED';
  if (status === 405 || status === 501) return 'UNSUPPORTED';
  if (status === 400 && messageIds.some((id) => /NotInList|NotSupported|PropertyUnknown|ActionNotSupported/.test(id))) return 'UNSUPPORTED';
  if (status === 503 || status === 502 || status === 504) return 'UNREACHABLE';
  if (status === 408) return 'TIMEOUT';
  return 'BMC_ERROR';
}
