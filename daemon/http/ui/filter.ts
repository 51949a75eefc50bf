// The machines list's filters, as they stand in the URL: state, owner, profile, free text (over
// name, MAC, IP, hostname), each negated by a leading `!`; a sort column and direction; a page.
// Parsing never throws: a bad value is dropped (a URL is shareable and must keep working).
import type { MachineRecord } from '../../core/store/types.js';

export const SORT_COLUMNS = ['name', 'state', 'owner', 'profile', 'mac', 'ip', 'changed'] as const;
export type SortColumn = (typeof SORT_COLUMNS)[number];
export const PAGE_SIZE = 50;

export interface Term { value: string; negated: boolean }

export interface MachineFilter {
  state?: Term;
  owner?: Term;
  profile?: Term;
  q?: Term;
  sort: SortColumn;
  dir: 'asc' | 'desc';
  page: number;
}

const first = (v: unknown): string | undefined => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined);

/** `!x` is "not x"; an empty value (or a lone `!`) is no filter. */
export function parseTerm(raw: unknown): Term | undefined {
  const s = first(raw)?.trim().slice(0, 200);
  if (!s) return undefined;
  const negated = s.startsWith('!');
  const value = (negated ? s.slice(1) : s).trim();
  return value ? { value, negated } : undefined;
}

export function parseFilter(query: Record<string, unknown>): MachineFilter {
  const sort = first(query.sort);
  const page = Number.parseInt(first(query.page) ?? '1', 10);
  return {
    state: parseTerm(query.state), owner: parseTerm(query.owner), profile: parseTerm(query.profile), q: parseTerm(query.q),
    sort: (SORT_COLUMNS as readonly string[]).includes(sort ?? '') ? sort as SortColumn : 'name',
    dir: first(query.dir) === 'desc' ? 'desc' : 'asc',
    page: Number.isSafeInteger(page) && page >= 1 ? page : 1,
  };
}

/** The query string for a filter (with changes), for links: what the URL keeps. */
export function filterQuery(f: MachineFilter, change: Partial<MachineFilter> = {}): string {
  const g = { ...f, ...change };
  const term = (t?: Term) => (t ? (t.negated ? '!' : '') + t.value : undefined);
  const params = new URLSearchParams();
  for (const [k, v] of [['state', term(g.state)], ['owner', term(g.owner)], ['profile', term(g.profile)], ['q', term(g.q)]] as const) if (v) params.set(k, v);
  if (g.sort !== 'name') params.set('sort', g.sort);
  if (g.dir !== 'asc') params.set('dir', g.dir);
  if (g.page !== 1) params.set('page', String(g.page));
  const s = params.toString();
  return s ? `?${s}` : '';
}

const exact = (t: Term | undefined, v: string | null) => !t || ((v ?? '').toLowerCase() === t.value.toLowerCase()) !== t.negated;

/** Free text matches a substring of the name, MAC, IP or hostname (any case). */
function textMatch(t: Term | undefined, m: MachineRecord): boolean {
  if (!t) return true;
  const needle = t.value.toLowerCase();
  const hit = [m.name, m.mac, m.ip, m.hostname].some((x) => typeof x === 'string' && x.toLowerCase().includes(needle));
  return hit !== t.negated;
}

export function matches(f: MachineFilter, m: MachineRecord): boolean {
  return exact(f.state, m.state) && exact(f.owner, m.owner) && exact(f.profile, m.deployProfile ?? m.profile) && textMatch(f.q, m);
}

const sortKey: Record<SortColumn, (m: MachineRecord) => string> = {
  name: (m) => m.name, state: (m) => m.state, owner: (m) => m.owner ?? '', profile: (m) => m.deployProfile ?? m.profile ?? '',
  mac: (m) => m.mac, ip: (m) => m.ip ?? '', changed: (m) => m.stateChangedAt,
};

export interface Page<T> { rows: T[]; total: number; page: number; pages: number }

/** Filters, sorts (ties by name) and cuts one page: only that page is rendered. */
export function selectMachines(all: MachineRecord[], f: MachineFilter, size = PAGE_SIZE): Page<MachineRecord> {
  const key = sortKey[f.sort];
  const sign = f.dir === 'asc' ? 1 : -1;
  const rows = all.filter((m) => matches(f, m))
    .sort((a, b) => sign * (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0) || (a.name < b.name ? -1 : 1));
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const page = Math.min(f.page, pages);
  return { rows: rows.slice((page - 1) * size, page * size), total: rows.length, page, pages };
}
