// The allocations page's URL filters and its allocate form, turned into what POST
// /api/v1/allocations takes. Nothing is decided here: the form's fields become the API's request
// body and go through the API's own function (api/allocations.ts allocateFor), which validates,
// scopes the owner and allocates. A tenant's owner field is passed on as sent, so a forged one is
// refused there, by the same rule as on the API.
import type { AllocationState } from '../../core/store/types.js';
import { queryText } from './signed.js';

export interface AllocationFilter { owner?: string; state?: AllocationState }

export function parseAllocationFilter(query: Record<string, unknown>): AllocationFilter {
  const state = queryText(query.state);
  return { owner: queryText(query.owner, 63), state: state === 'active' || state === 'released' ? state : undefined };
}

export function allocationFilterQuery(f: AllocationFilter): string {
  const params = new URLSearchParams();
  if (f.owner) params.set('owner', f.owner);
  if (f.state) params.set('state', f.state);
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** The form's fields as they were typed, to show them again beside an error. */
export interface AllocateFields { owner: string; profile: string; cpus: string; memory_gib: string; disk_gib: string; arch: string; tags: string; count: string }
export const FIELD_NAMES = ['owner', 'profile', 'cpus', 'memory_gib', 'disk_gib', 'arch', 'tags', 'count'] as const;

export function allocateFields(form: Record<string, unknown>): AllocateFields {
  const f = {} as AllocateFields;
  for (const k of FIELD_NAMES) f[k] = typeof form[k] === 'string' ? (form[k] as string).trim().slice(0, 300) : '';
  return f;
}

/** A number when the text is one; otherwise the text itself, for the API's check to name the field. */
const numberOr = (s: string): number | string => (/^\d+(\.\d+)?$/.test(s) ? Number(s) : s);

/** The body POST /api/v1/allocations would get for these fields: empty ones are left out. */
export function allocateBody(f: AllocateFields): Record<string, unknown> {
  const constraints: Record<string, unknown> = {};
  for (const k of ['cpus', 'memory_gib', 'disk_gib'] as const) if (f[k]) constraints[k] = numberOr(f[k]);
  if (f.arch) constraints.arch = f.arch;
  const tags = f.tags.split(',').map((t) => t.trim()).filter(Boolean);
  if (tags.length) constraints.tags = tags;
  return {
    ...(f.owner ? { owner: f.owner } : {}),
    profile: f.profile,
    constraints,
    ...(f.count ? { count: numberOr(f.count) } : {}),
  };
}
