// What a principal may see. Admin and read-only tokens see everything; an owner-scoped (tenant)
// token sees only the machines it owns. Another tenant's machine is "not found", not
// "forbidden": a tenant must not learn which machine names exist.
import { ApiError } from '../errors.js';
import type { Principal } from './tokens.js';
import type { MachineRecord, Store } from '../../core/store/types.js';

export const isTenant = (p: Principal): p is Extract<Principal, { role: 'owner' }> => p.role === 'owner';

export function canSee(p: Principal, m: MachineRecord): boolean {
  return !isTenant(p) || m.owner === p.owner;
}

/** The machine if it exists and the principal may see it; otherwise 404. */
export async function visibleMachine(store: Store, p: Principal, name: string, opts: { retired?: boolean } = {}): Promise<MachineRecord> {
  const m = await store.getMachine(name);
  if (!m || (!opts.retired && m.retiredAt) || !canSee(p, m)) throw new ApiError('NOT_FOUND', `no machine named ${name}`);
  return m;
}

/** Operator-only routes: a tenant token gets 403 once it is known to see the resource. */
export function operatorOnly(p: Principal, what: string): void {
  if (isTenant(p)) throw new ApiError('FORBIDDEN', `token ${p.name} is a tenant token (owner ${p.owner}): it may not ${what}`);
}

/** A read-only token looks, never acts: what every change checks, whoever calls it (API or dashboard). */
export function mayAct(p: Principal): void {
  if (p.role === 'readonly') throw new ApiError('FORBIDDEN', `token ${p.name} is read-only`);
}
