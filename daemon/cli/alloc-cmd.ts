// The IaaS verbs: allocate machines by constraints, list allocations, release an allocation (or a
// machine, as before). Tenant tokens are tokens-cmd.ts's. Sizes read like people write them: 32G, 512M, 2T.
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, type ApiClient } from './client.js';
import { actionCmd } from './commands.js';
import { ago, fields, table } from './format.js';

type AllocMachine = { name: string; hostname: string; ip: string | null; state: string; last_error: string | null };
type Allocation = {
  id: string; owner: string; profile: string; state: string; count: number; actor: string;
  constraints: Record<string, unknown>; created_at: string; released_at: string | null; machines: AllocMachine[];
};

const out = (s: string): void => { process.stdout.write(s + '\n'); };
const enc = encodeURIComponent;

/** "32G", "32GiB", "0.4G", "512M", "2T" or a bare number (GiB) → GiB. */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([MGT])?(?:i?B)?$/i.exec(text.trim());
  const n = m ? Number(m[1]) * ({ M: 1 / 1024, G: 1, T: 1024 } as Record<string, number>)[(m[2] ?? 'G').toUpperCase()]! : NaN;
  if (!(n > 0)) throw new CliError(`${flag} takes a size such as 32G, 512M or 2T (got ${text})`, 2);
  return n;
}

export function positiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${flag} takes a positive whole number`, 2);
  return n;
}

const line = (a: Allocation) => `${a.id} (${a.owner}, ${a.profile}): ${a.state} — ${a.machines.map((m) => `${m.name}${m.ip ? ` ${m.ip}` : ''} ${m.state}`).join(', ')}`;

export interface AllocateOptions {
  owner?: string; profile: string; cpus?: number; memoryGib?: number; diskGib?: number; arch?: string; tags: string[];
  count?: number; wait: boolean; json: boolean;
}

export async function allocateCmd(api: ApiClient, o: AllocateOptions): Promise<boolean> {
  const constraints = Object.fromEntries(Object.entries({
    cpus: o.cpus, memory_gib: o.memoryGib, disk_gib: o.diskGib, arch: o.arch, tags: o.tags.length ? o.tags : undefined,
  }).filter(([, v]) => v !== undefined));
  const { allocation } = await api.post<{ allocation: Allocation }>('/api/v1/allocations', { owner: o.owner, profile: o.profile, constraints, count: o.count });
  if (!o.wait) {
    out(o.json ? JSON.stringify({ allocation }, null, 2) : line(allocation));
    return true;
  }
  if (!o.json) out(line(allocation));
  return waitForAllocation(api, allocation.id, o.json, ['deployed']);
}

/**
 * Follows an allocation until it settles: one rewritten line on a terminal, plain lines
 * otherwise, JSON lines with --json. True when it ended in one of `goal`.
 */
export async function waitForAllocation(api: ApiClient, id: string, json: boolean, goal: string[]): Promise<boolean> {
  const tty = process.stdout.isTTY && !json;
  let last = '';
  for (;;) {
    const { allocation: a } = await api.get<{ allocation: Allocation }>(`/api/v1/allocations/${enc(id)}`);
    const text = line(a);
    if (text !== last) {
      if (json) out(JSON.stringify({ allocation: a.id, state: a.state, machines: a.machines }));
      else if (tty) process.stdout.write(`\r\x1b[K${text}`);
      else out(text);
      last = text;
    }
    if (!['deploying', 'releasing'].includes(a.state)) {
      if (tty) process.stdout.write('\n');
      for (const m of a.machines) if (m.last_error && !json) out(`${m.name}: failed: ${m.last_error}`);
      return goal.includes(a.state);
    }
    await sleep(2000);
  }
}

export async function allocationsCmd(api: ApiClient, o: { json: boolean; owner?: string; all: boolean }): Promise<void> {
  const q = new URLSearchParams();
  if (o.owner) q.set('owner', o.owner);
  if (!o.all) q.set('state', 'active');
  const { allocations } = await api.get<{ allocations: Allocation[] }>(`/api/v1/allocations${q.size ? '?' + q : ''}`);
  if (o.json) return out(JSON.stringify({ allocations }, null, 2));
  if (!allocations.length) return out('no allocations');
  out(table(['ID', 'OWNER', 'PROFILE', 'STATE', 'MACHINES', 'CREATED'], allocations.map((a) => [
    a.id, a.owner, a.profile, a.state, a.machines.map((m) => `${m.name}${m.ip ? `(${m.ip})` : ''}`).join(','), ago(a.created_at),
  ])));
}

export async function showAllocationCmd(api: ApiClient, id: string, o: { json: boolean }): Promise<void> {
  const { allocation: a } = await api.get<{ allocation: Allocation }>(`/api/v1/allocations/${enc(id)}`);
  if (o.json) return out(JSON.stringify({ allocation: a }, null, 2));
  out(fields([
    ['id', a.id], ['owner', a.owner], ['profile', a.profile], ['state', a.state], ['by', a.actor],
    ['constraints', JSON.stringify(a.constraints)], ['created', `${a.created_at} (${ago(a.created_at)})`], ['released', a.released_at],
    ...a.machines.map((m): [string, unknown] => [`machine ${m.name}`, `${m.ip ?? '-'} ${m.state}${m.last_error ? ` (${m.last_error})` : ''}`]),
  ]));
}

/** An allocation id releases the allocation; anything else is a machine, released as before. */
export async function releaseCmd(api: ApiClient, target: string, o: { json: boolean; wait: boolean; reason?: string }): Promise<boolean> {
  if (!target.startsWith('alloc-')) return actionCmd(api, target, 'release', { reason: o.reason }, o);
  const { allocation } = await api.del<{ allocation: Allocation }>(`/api/v1/allocations/${enc(target)}`);
  if (!o.wait) {
    out(o.json ? JSON.stringify({ allocation }, null, 2) : line(allocation));
    return true;
  }
  if (!o.json) out(line(allocation));
  return waitForAllocation(api, target, o.json, ['released']);
}
