// The machines list's filters, as they stand in the URL: state, owner, profile, tag, arch, free
// text (over name, MAC, IP, hostname), each negated by a leading `!`; a sort column and
// direction; a page; the columns shown. Parsing never throws: a bad value is dropped (a URL is
// shareable and must keep working). The store does the filtering (machineQueryOf): a page costs
// one query, not a read of every machine.
import { MACHINE_SORTS, type MachineQuery, type MachineSort, type QueryTerm } from '../../core/store/machine-query.js';
import { isTenant } from '../api/scope.js';
import type { Principal } from '../api/tokens.js';

export const SORT_COLUMNS = MACHINE_SORTS;
export type SortColumn = MachineSort;
export const PAGE_SIZE = 50;

/** Every column the list can show, in order; `name` always is (the link, the checkbox's label). */
export const COLUMNS = ['name', 'state', 'owner', 'profile', 'tags', 'arch', 'mac', 'ip', 'changed'] as const;
export type Column = (typeof COLUMNS)[number];
export const DEFAULT_COLUMNS: readonly Column[] = ['name', 'state', 'owner', 'profile', 'mac', 'ip', 'changed'];

export type Term = QueryTerm;

export const TERM_NAMES = ['state', 'owner', 'profile', 'tag', 'arch', 'q'] as const;
export type TermName = (typeof TERM_NAMES)[number];

export type MachineFilter = { [K in TermName]?: Term } & {
  sort: SortColumn;
  dir: 'asc' | 'desc';
  page: number;
  cols: readonly Column[];
};

const first = (v: unknown): string | undefined => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined);

/** `!x` is "not x"; an empty value (or a lone `!`) is no filter. */
export function parseTerm(raw: unknown): Term | undefined {
  const s = first(raw)?.trim().slice(0, 200);
  if (!s) return undefined;
  const negated = s.startsWith('!');
  const value = (negated ? s.slice(1) : s).trim();
  return value ? { value, negated } : undefined;
}

/**
 * `cols=name,state,ip` (what links write) or `cols=state&cols=ip` (what the chooser's checkboxes
 * send); unknown names dropped, shown in COLUMNS order, `name` always. Absent: the default.
 */
export function parseColumns(raw: unknown): readonly Column[] {
  const given = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string').slice(0, COLUMNS.length * 2);
  if (!given.length) return DEFAULT_COLUMNS;
  const wanted = new Set(given.flatMap((v) => v.split(',')).map((v) => v.trim()));
  return COLUMNS.filter((c) => c === 'name' || wanted.has(c));
}

export function parseFilter(query: Record<string, unknown>): MachineFilter {
  const sort = first(query.sort);
  const page = Number.parseInt(first(query.page) ?? '1', 10);
  const f: MachineFilter = {
    sort: (SORT_COLUMNS as readonly string[]).includes(sort ?? '') ? sort as SortColumn : 'name',
    dir: first(query.dir) === 'desc' ? 'desc' : 'asc',
    page: Number.isSafeInteger(page) && page >= 1 ? page : 1,
    cols: parseColumns(query.cols),
  };
  for (const k of TERM_NAMES) {
    const t = parseTerm(query[k]);
    if (t) f[k] = t;
  }
  return f;
}

export const termText = (t?: Term): string => (t ? (t.negated ? '!' : '') + t.value : '');
export const isDefaultColumns = (cols: readonly Column[]): boolean => cols.length === DEFAULT_COLUMNS.length && cols.every((c, i) => c === DEFAULT_COLUMNS[i]);

/** The query string for a filter (with changes), for links: what the URL keeps. */
export function filterQuery(f: MachineFilter, change: Partial<MachineFilter> = {}): string {
  const g = { ...f, ...change };
  const params = new URLSearchParams();
  for (const k of TERM_NAMES) if (g[k]) params.set(k, termText(g[k]));
  if (!isDefaultColumns(g.cols)) params.set('cols', g.cols.join(','));
  if (g.sort !== 'name') params.set('sort', g.sort);
  if (g.dir !== 'asc') params.set('dir', g.dir);
  if (g.page !== 1) params.set('page', String(g.page));
  const s = params.toString();
  return s ? `?${s}` : '';
}

/**
 * The store query for a filter as this principal may ask it: a tenant's is always limited to its
 * owner (scopeOwner), whatever its URL's owner term says.
 */
export function machineQueryOf(f: MachineFilter, p: Principal, page: { offset: number; limit: number }): MachineQuery {
  return {
    state: f.state, owner: f.owner, profile: f.profile, tag: f.tag, arch: f.arch, text: f.q,
    scopeOwner: isTenant(p) ? p.owner : undefined,
    sort: f.sort, dir: f.dir, ...page,
  };
}

export interface Page<T> { rows: T[]; total: number; page: number; pages: number }
