// `rackhand tokens create|list|revoke|rotate`: tenant tokens (owner-scoped, in the store) and the
// rotation of a tokens.json token. Expiry reads like people write it: 30d, 12h, 90m, 2w, or an
// ISO date/time.
import { CliError, type ApiClient } from './client.js';
import { ago, table } from './format.js';

type TokenView = {
  name: string; owner: string; created_by: string; created_at: string;
  expires_at: string | null; revoked_at: string | null; last_used_at: string | null; state: string;
};

const out = (s: string): void => { process.stdout.write(s + '\n'); };
const UNITS: Record<string, number> = { m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/** "30d", "12h", "90m", "2w" from `now`, or an ISO date/time → ISO time. */
export function parseExpiry(text: string, now = Date.now()): string {
  const m = /^(\d+)\s*([mhdw])$/i.exec(text.trim());
  const at = m ? now + Number(m[1]) * UNITS[m[2]!.toLowerCase()]! * 1000 : /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : NaN;
  if (!(at > now)) throw new CliError(`--expires takes a duration such as 30d, 12h or 90m, or a future ISO date (got ${text})`, 2);
  return new Date(at).toISOString();
}

export async function tokensCreateCmd(api: ApiClient, o: { owner: string; name?: string; expires?: string; json: boolean }): Promise<void> {
  const expiresAt = o.expires === undefined ? undefined : parseExpiry(o.expires);
  const res = await api.post<{ token: TokenView; secret: string }>('/api/v1/tokens', { owner: o.owner, name: o.name, expires_at: expiresAt });
  if (o.json) return out(JSON.stringify(res, null, 2));
  const until = res.token.expires_at ? `, until ${res.token.expires_at}` : '';
  out(`token ${res.token.name} for owner ${res.token.owner}${until} (shown once; keep it as RACKHAND_TOKEN):\n${res.secret}`);
}

export async function tokensListCmd(api: ApiClient, o: { json: boolean }): Promise<void> {
  const { tokens } = await api.get<{ tokens: TokenView[] }>('/api/v1/tokens');
  if (o.json) return out(JSON.stringify({ tokens }, null, 2));
  if (!tokens.length) return out('no tenant tokens');
  out(table(['NAME', 'OWNER', 'CREATED BY', 'CREATED', 'EXPIRES', 'LAST USED', 'STATE'], tokens.map((t) => [
    t.name, t.owner, t.created_by, ago(t.created_at), t.expires_at ? ago(t.expires_at) : 'never',
    t.last_used_at ? ago(t.last_used_at) : 'never', t.state,
  ])));
}

export async function tokensRevokeCmd(api: ApiClient, name: string, o: { json: boolean }): Promise<void> {
  const res = await api.del<{ token: TokenView }>(`/api/v1/tokens/${encodeURIComponent(name)}`);
  if (o.json) return out(JSON.stringify(res, null, 2));
  out(`token ${res.token.name} (owner ${res.token.owner}) revoked at ${res.token.revoked_at}`);
}

export async function tokensRotateCmd(api: ApiClient, name: string | undefined, o: { json: boolean }): Promise<void> {
  const res = await api.post<{ token: { name: string; role: string }; secret: string }>('/api/v1/tokens/rotate', name ? { name } : {});
  if (o.json) return out(JSON.stringify(res, null, 2));
  out(`token ${res.token.name} (${res.token.role}) rotated: the old secret is refused from now on; tokens.json holds the new one:\n${res.secret}`);
}
