// `rackhand operations MACHINE` and `rackhand log MACHINE [OPERATION]`: a machine's operations
// and the log of one (the latest by default): the daemon's events merged with the agent's lines.
import type { ApiClient } from './client.js';
import { ago, table } from './format.js';

interface Operation {
  id: string; kind: string; state: string; step: string | null; error: string | null; created_at: string; finished_at: string | null;
}
interface Entry { time: string; source: 'rackhand' | 'agent'; text: string }

const out = (s: string): void => { process.stdout.write(s + '\n'); };
const enc = encodeURIComponent;

function took(op: Operation): string {
  const end = op.finished_at ? Date.parse(op.finished_at) : Date.now();
  return `${Math.round((end - Date.parse(op.created_at)) / 1000)} s${op.finished_at ? '' : ' so far'}`;
}

export async function operationsCmd(api: ApiClient, machine: string, o: { json: boolean; limit?: number }): Promise<void> {
  const { operations } = await api.get<{ operations: Operation[] }>(`/api/v1/machines/${enc(machine)}/operations${o.limit ? `?limit=${o.limit}` : ''}`);
  if (o.json) return out(JSON.stringify({ operations }, null, 2));
  if (!operations.length) return out(`${machine}: no operations yet`);
  out(table(['ID', 'KIND', 'STATE', 'STEP', 'STARTED', 'TOOK', 'ERROR'], operations.map((op) => [
    op.id, op.kind, op.state, op.step ?? '-', ago(op.created_at), took(op), op.error ?? '-',
  ])));
}

export async function logCmd(api: ApiClient, machine: string, o: { json: boolean; operation?: string }): Promise<void> {
  const res = await api.get<{ operation: Operation; entries: Entry[] }>(`/api/v1/machines/${enc(machine)}/operations/${enc(o.operation ?? 'latest')}/log`);
  if (o.json) return out(JSON.stringify(res, null, 2));
  const op = res.operation;
  out(`# ${machine}: ${op.kind} ${op.id} — ${op.state}${op.error ? `: ${op.error}` : ''} (${took(op)})`);
  for (const e of res.entries) out(`${e.time}  ${e.source === 'agent' ? 'agent   ' : 'rackhand'}  ${e.text}`);
}
