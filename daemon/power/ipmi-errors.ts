// ipmitool's stderr → PowerError codes. ipmitool (1.8.19) says the same "Unable to establish
// IPMI v2 / RMCP+ session" for a wrong password and for a BMC that is not there; only with -v
// does it print the line that tells them apart, so the driver always runs it with -v and this
// table reads those lines. The strings were seen against ipmi_sim here (tests keep them true);
// the rest are ipmitool's own wording for cases ipmi_sim cannot produce.
import type { PowerErrorCode } from './errors.js';

export interface IpmiRule {
  test: RegExp;
  code: PowerErrorCode;
  /** What to tell the operator (the matched line is quoted after it). */
  says: string;
  /** A cipher-suite negotiation failure: the driver retries once with the fallback suite. */
  cipher?: boolean;
  /** The failure comes before a session existed: the command itself never reached the BMC. */
  notSent?: boolean;
}

/** First match wins: specific causes before the generic session failure. */
export const IPMI_RULES: readonly IpmiRule[] = [
  { test: /RAKP 2 HMAC is invalid|RAKP \d message has invalid integrity check value/i, code: 'AUTH_FAILED', says: 'wrong password' },
  { test: /unauthorized name|Invalid user name|invalid username/i, code: 'AUTH_FAILED', says: 'unknown user name' },
  { test: /Insufficient privilege level|privilege level .* not available|requested privilege level/i, code: 'AUTH_FAILED', says: 'the user lacks the ADMINISTRATOR privilege' },
  { test: /invalid (authentication|integrity|confidentiality) algorithm|no matching cipher suite|Invalid cipher suite|cipher suite .* not supported/i, code: 'UNSUPPORTED', says: 'cipher suite refused', cipher: true },
  { test: /Get Auth Capabilities error|Error issuing Get Channel Authentication Capabilities|Unable to establish LAN session|Connection refused|Address lookup for .* failed|Network is unreachable|No route to host/i, code: 'UNREACHABLE', says: 'no answer from the BMC', notSent: true },
  // Also printed when a command's own answer is lost: the command may have been carried out.
  { test: /No response from remote controller/i, code: 'UNREACHABLE', says: 'no answer from the BMC' },
  { test: /Invalid command|Invalid data field in request|not supported|Parameter not supported|Invalid chassis command/i, code: 'UNSUPPORTED', says: 'the BMC refused the command' },
  { test: /Node busy|Out of space|Timeout/i, code: 'TIMEOUT', says: 'the BMC was busy' },
  { test: /Unable to establish IPMI v2 \/ RMCP\+ session/i, code: 'UNREACHABLE', says: 'no RMCP+ session', notSent: true },
  { test: /failed|error|unable/i, code: 'BMC_ERROR', says: 'the BMC reported an error' },
];

/** Lines -v prints on every call, success included: never a reason to fail. */
const NOISE: readonly RegExp[] = [
  /^Loading IANA PEN Registry/,
  /^Running Get VSO Capabilities/,
  /^Invalid completion code received: Invalid command$/,
  /^Discovered IPMB address/,
  /^Get HPM\.x Capabilities request failed/,
  /^Running Get PICMG Properties/,
  /^>>/,
];

export function meaningfulLines(stderr: string): string[] {
  return stderr.split('\n').map((l) => l.replace(/^>\s*/, '').trim()).filter((l) => l !== '' && !NOISE.some((re) => re.test(l)));
}

export interface IpmiFailure { code: PowerErrorCode; message: string; cipher: boolean; notSent?: boolean }

/**
 * Classifies one ipmitool run. Returns undefined when it succeeded: exit 0 and no failure line
 * (ipmitool exits 0 after "Set Chassis Boot Parameter 5 failed", so the text is checked too).
 */
export function classifyIpmitool(stderr: string, exitCode: number): IpmiFailure | undefined {
  const lines = meaningfulLines(stderr);
  for (const rule of IPMI_RULES) {
    const line = lines.find((l) => rule.test.test(l));
    if (line !== undefined) return { code: rule.code, message: `${rule.says}: ${line}`, cipher: rule.cipher ?? false, notSent: rule.notSent ?? false };
  }
  if (exitCode === 0) return undefined;
  const last = lines.at(-1);
  return { code: 'BMC_ERROR', message: last ? `ipmitool exited ${exitCode}: ${last}` : `ipmitool exited ${exitCode}`, cipher: false };
}

/** `chassis power status` → on/off; undefined when the line is missing. */
export function parsePowerStatus(stdout: string): 'on' | 'off' | undefined {
  const m = /Chassis Power is (on|off)/i.exec(stdout);
  return m ? (m[1]!.toLowerCase() as 'on' | 'off') : undefined;
}
