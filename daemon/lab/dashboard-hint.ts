// What `rackhand lab up` and `lab status` (so `make demo`) print for the web dashboard: its URL
// and a token to sign in with, from the lab daemon's tokens.json. The admin token is printed (the
// lab is one's own, on this host, and the demo's buttons need it), labelled as such; a lab whose
// file holds only read-only tokens gets one of those, labelled read-only.
import { join } from 'node:path';
import { readTokenFile, TOKEN_FILE, type TokenEntry } from '../http/api/tokens.js';

export function dashboardHint(apiUrl: string, tokenFile: string, entries: TokenEntry[] | undefined): string[] {
  const url = `  dashboard: ${apiUrl}/ui/`;
  const t = entries?.find((e) => e.role === 'admin') ?? entries?.find((e) => e.role === 'readonly');
  if (!t) return [url, `  sign in with a token from ${tokenFile}`];
  const what = t.role === 'admin' ? 'admin token (can act: inspect, deploy, release, tokens)' : 'read-only token (can look, not act)';
  return [url, `  sign in with the ${what} "${t.name}" from ${tokenFile}:`, `    ${t.token}`];
}

/** The hint for the daemon whose state directory is `stateDir` (its tokens.json may not be readable). */
export function labDashboardHint(apiUrl: string, stateDir: string): string[] {
  const file = join(stateDir, TOKEN_FILE);
  let entries: TokenEntry[] | undefined;
  try { entries = readTokenFile(file); } catch { entries = undefined; }
  return dashboardHint(apiUrl, file, entries);
}
