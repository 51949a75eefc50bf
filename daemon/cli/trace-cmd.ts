// `rackhand trace MACHINE [--limit N]`: the machine's boot trace, newest last — each DHCP
// exchange, TFTP and HTTP fetch with what was answered and why. The scripts handed out (tokens
// redacted by the daemon) are in --json and on the dashboard. What a machine sent (vendor class,
// file names) reaches the terminal only through the client's safeJson: it may carry escapes.
import type { ApiClient } from './client.js';

interface Entry { id: number; at: string; kind: string; outcome: string; summary: string; detail: Record<string, unknown>; text?: string }

const out = (s: string): void => { process.stdout.write(s + '\n'); };
const OUTCOME: Record<string, string> = { ok: 'ok', refused: 'REFUSED', no_answer: 'NO ANSWER', error: 'ERROR' };

export async function traceCmd(api: ApiClient, machine: string, o: { json: boolean; limit?: number }): Promise<void> {
  const res = await api.get<{ machine: string; entries: Entry[] }>(`/api/v1/machines/${encodeURIComponent(machine)}/boot-trace${o.limit ? `?limit=${o.limit}` : ''}`);
  if (o.json) return out(JSON.stringify(res, null, 2));
  if (!res.entries.length) return out(`${machine}: no boot steps recorded yet`);
  for (const e of res.entries) {
    out(`${e.at}  ${e.kind.toUpperCase().padEnd(4)}  ${(OUTCOME[e.outcome] ?? e.outcome).padEnd(9)}  ${e.summary}`);
  }
}
