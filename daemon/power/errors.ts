// One error class for every driver. The code is stable (the API and the lifecycle switch on it);
// the message names the machine and quotes the BMC. Secrets are scrubbed at construction, so no
// path from a driver to a log line, an event or the store can carry a password.
export const POWER_ERROR_CODES = ['AUTH_FAILED', 'UNREACHABLE', 'UNSUPPORTED', 'TIMEOUT', 'BMC_ERROR', 'CONFIG', 'CANCELLED'] as const;
export type PowerErrorCode = (typeof POWER_ERROR_CODES)[number];

/** Codes worth another try: the BMC may answer next time. AUTH_FAILED never is (lockouts). */
export const TRANSIENT: ReadonlySet<PowerErrorCode> = new Set(['UNREACHABLE', 'TIMEOUT']);

const HINT: Record<PowerErrorCode, string> = {
  AUTH_FAILED: 'the BMC rejected the username or password',
  UNREACHABLE: 'the BMC did not answer',
  UNSUPPORTED: 'the BMC does not support this',
  TIMEOUT: 'the BMC call timed out',
  BMC_ERROR: 'the BMC reported an error',
  CONFIG: 'the power settings are incomplete',
  CANCELLED: 'the caller went away before the BMC answered',
};

export class PowerError extends Error {
  override readonly name = 'PowerError';
  readonly code: PowerErrorCode;
  readonly machine: string;
  readonly action: string;
  /** What the BMC (or tool) said, scrubbed of secrets. */
  readonly bmcMessage: string;
  /**
   * True when the request that changes something certainly never reached the BMC (it was
   * refused before sending, or the BMC answered that it did not act). Only then may a power
   * change be sent again: otherwise a lost answer could mean a second reset.
   */
  notSent = false;

  constructor(code: PowerErrorCode, machine: string, action: string, bmcMessage: string, secrets: readonly string[] = []) {
    const said = scrub(bmcMessage, secrets).trim();
    super(`${machine}: power ${action}: ${HINT[code]}${said ? ` (${said})` : ''} [${code}]`);
    this.code = code;
    this.machine = machine;
    this.action = action;
    this.bmcMessage = said;
  }

  get transient(): boolean { return TRANSIENT.has(this.code); }

  /** Marks the error as one that happened before the change could reach the BMC; returns it. */
  beforeSending(): this { this.notSent = true; return this; }

  /** A plain object for events and API output: nothing that is not already in the message. */
  toJSON(): Record<string, string> {
    return { code: this.code, machine: this.machine, action: this.action, message: this.message, bmc: this.bmcMessage };
  }
}

/**
 * Every spelling a secret can take in a BMC's answer or a tool's output: as it is, JSON-escaped
 * (also with "\/" and with non-ASCII as \uXXXX, as Python and PHP encoders write it, and escaped
 * twice when JSON quotes JSON), percent-encoded (both space forms), HTML/XML-escaped, and base64.
 */
export function secretForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const asciiJson = json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const forms = [
    secret, json, json.replace(/\//g, '\\/'), asciiJson, asciiJson.replace(/\\u([0-9a-f]{4})/g, (_m, h: string) => `\\u${h.toUpperCase()}`),
    JSON.stringify(json).slice(1, -1),
    encodeURIComponent(secret), encodeURIComponent(secret).replace(/%20/g, '+'),
    secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'),
    Buffer.from(secret).toString('base64'),
  ];
  // Longest first, so a longer spelling is not left half-replaced by a shorter one inside it.
  return [...new Set(forms)].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of each secret, in each of its spellings, with a marker. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s) continue;
    for (const form of secretForms(s)) out = out.split(form).join('[redacted]');
  }
  return out;
}

export function isPowerError(err: unknown): err is PowerError {
  return err instanceof PowerError;
}
