// One page of live machines, filtered and sorted by the database (the dashboard's machines list at
// fleet scale: no full-table read per request). The query's meaning is written here once and
// both backends build their SQL from it (machineQuerySql), each with its own dialect: how a
// parameter is written, how tags and facts are read out of JSON, how a substring is matched.
import type { MachineRecord } from './records.js';
import type { State } from '../lifecycle.js';

/** A filter value; `negated` keeps the machines that do not match it. */
export interface QueryTerm { value: string; negated: boolean }

export const MACHINE_SORTS = ['name', 'state', 'owner', 'profile', 'mac', 'ip', 'changed'] as const;
export type MachineSort = (typeof MACHINE_SORTS)[number];

export interface MachineQuery {
  /** Exact, any case. */
  state?: QueryTerm;
  owner?: QueryTerm;
  /** The deployment's profile, else the inventory's. */
  profile?: QueryTerm;
  /** One of the machine's inventory tags. */
  tag?: QueryTerm;
  /** The inspected facts' arch, else the one the boot firmware announced (BOOT_ARCH_NAMES). */
  arch?: QueryTerm;
  /** A substring (any case, ASCII letters at least; `%` and `_` are literal) of the name, MAC, IP or hostname. */
  text?: QueryTerm;
  /**
   * Only this owner's machines, whatever the terms say: a tenant's scope. Set by the caller from
   * the principal, never from a URL.
   */
  scopeOwner?: string;
  /**
   * Only the machine of this exact name: whether one machine matches the other terms (the
   * dashboard asks it of a row a live update refreshed). Set by the caller, never from a URL.
   */
  name?: string;
  sort?: MachineSort;
  dir?: 'asc' | 'desc';
  offset?: number;
  /** At most MAX_QUERY_LIMIT. */
  limit: number;
}

export interface MachinePage {
  /** The page, sorted (ties by name). */
  machines: MachineRecord[];
  /** How many live machines match, over all pages. */
  total: number;
}

/** Live machines per state; a state no machine is in is absent. */
export type StateCounts = Partial<Record<State, number>>;

export const MAX_QUERY_LIMIT = 10_000;
/** Past any fleet, and an integer every database binds as one. */
const MAX_QUERY_OFFSET = 1_000_000_000;

/**
 * RFC 4578 client architecture (DHCP option 93) → the name `uname -m` gives (what the agent
 * reports as facts.arch), for machines not inspected yet. Types not here give no arch.
 */
export const BOOT_ARCH_NAMES: Readonly<Record<number, string>> = {
  0: 'x86_64', 6: 'x86_64', 7: 'x86_64', 9: 'x86_64', 16: 'x86_64', 11: 'aarch64', 19: 'aarch64',
};

/** A LIKE pattern matching `value` anywhere, its own `%`, `_` and `\` taken literally (ESCAPE '\'). */
export function containsPattern(value: string): string {
  return `%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** What differs between the backends' SQL. */
export interface QueryDialect {
  /** The placeholder of the nth parameter (1-based). */
  param(n: number): string;
  /** A boolean: the machine has a tag equal (any case) to the parameter. */
  hasTag(p: string): string;
  /** The facts' arch as text, or NULL. */
  factsArch: string;
  /** The boot facts' arch number as text (CASE compares it with '7', not 7), or NULL. */
  bootArch: string;
  /** A boolean: `column` contains the pattern (containsPattern), any case. */
  contains(column: string, p: string): string;
  /** Appended to text sort keys: the same (bytewise) order in every backend. */
  collate: string;
}

const SORT_KEYS: Record<MachineSort, string> = {
  name: 'name', state: 'state', owner: "coalesce(owner, '')", profile: "coalesce(deploy_profile, profile, '')",
  mac: 'mac', ip: "coalesce(ip, '')", changed: 'state_changed_at',
};

export interface QuerySql { where: string; orderBy: string; params: unknown[] }

/** The WHERE and ORDER BY of a MachineQuery (without LIMIT/OFFSET), and their parameters. */
export function machineQuerySql(q: MachineQuery, d: QueryDialect): QuerySql {
  const params: unknown[] = [];
  const p = (v: unknown) => { params.push(v); return d.param(params.length); };
  const where = ['retired_at IS NULL'];
  if (q.scopeOwner !== undefined) where.push(`owner = ${p(q.scopeOwner)}`);
  if (q.name !== undefined) where.push(`name = ${p(q.name)}`);
  // Every condition is true or false, never NULL, so that NOT keeps the machines without a value.
  const term = (t: QueryTerm | undefined, cond: (ph: string) => string, value = (v: string) => v.toLowerCase()) => {
    if (!t) return;
    const c = cond(p(value(t.value)));
    where.push(t.negated ? `NOT (${c})` : `(${c})`);
  };
  term(q.state, (ph) => `state = ${ph}`);
  term(q.owner, (ph) => `lower(coalesce(owner, '')) = ${ph}`);
  term(q.profile, (ph) => `lower(coalesce(deploy_profile, profile, '')) = ${ph}`);
  term(q.tag, (ph) => d.hasTag(ph));
  const bootArch = `CASE ${d.bootArch} ${Object.entries(BOOT_ARCH_NAMES).map(([n, name]) => `WHEN '${n}' THEN '${name}'`).join(' ')} END`;
  term(q.arch, (ph) => `lower(coalesce(${d.factsArch}, ${bootArch}, '')) = ${ph}`);
  term(q.text, (ph) => ['name', 'mac', "coalesce(ip, '')", 'hostname'].map((col) => d.contains(col, ph)).join(' OR '), containsPattern);
  const dir = q.dir === 'desc' ? 'DESC' : 'ASC';
  const sort = q.sort ?? 'name';
  const key = SORT_KEYS[sort];
  const collate = sort === 'changed' ? '' : d.collate;
  // Ties (same state, same owner…) by name, A to Z whichever way the column goes.
  const orderBy = sort === 'name' ? `name${d.collate} ${dir}` : `${key}${collate} ${dir}, name${d.collate} ASC`;
  return { where: where.join(' AND '), orderBy, params };
}

/**
 * The page's rows: the sort runs over names and sort keys only, then the page's few whole rows
 * are joined in by name. Sorting whole rows (facts and all) to cut a late page of 10,000 made the
 * database carry every row through the sort, on disk past its sort memory.
 */
export function pageSelect(where: string, orderBy: string, limit: string, offset: string): string {
  return `SELECT machines.* FROM machines JOIN (SELECT name AS page_name FROM machines WHERE ${where} ORDER BY ${orderBy} LIMIT ${limit} OFFSET ${offset}) AS page
    ON machines.name = page.page_name ORDER BY ${orderBy}`;
}

/**
 * How many live machines are in each state (a tenant's scope: only `scopeOwner`'s), by one
 * grouped query: the overview's counts without reading every machine. `param` is the dialect's
 * placeholder for the owner.
 */
export function stateCountSql(scopeOwner: string | undefined, param: string): { sql: string; params: unknown[] } {
  const scoped = scopeOwner !== undefined;
  return {
    sql: `SELECT state, count(*) AS n FROM machines WHERE retired_at IS NULL${scoped ? ` AND owner = ${param}` : ''} GROUP BY state`,
    params: scoped ? [scopeOwner] : [],
  };
}

/** Live machines per rack (null: no rack) and state: GET /api/v1/racks without reading every machine. */
export const RACK_STATE_COUNT_SQL = 'SELECT rack, state, count(*) AS n FROM machines WHERE retired_at IS NULL GROUP BY rack, state';

/** Open work items per rack of their live machine, the same way. */
export const OPEN_WORK_BY_RACK_SQL = `SELECT machines.rack AS rack, count(*) AS n FROM work JOIN machines ON machines.name = work.machine
  WHERE work.done_at IS NULL AND machines.retired_at IS NULL GROUP BY machines.rack`;

/** One group of RACK_STATE_COUNT_SQL (or OPEN_WORK_BY_RACK_SQL, without a state). */
export interface RackCount { rack: string | null; state: State; n: number }

/** The limit and offset a query may ask for. */
export function pageBounds(q: MachineQuery): { limit: number; offset: number } {
  const limit = Math.min(Math.max(Math.trunc(q.limit) || 1, 1), MAX_QUERY_LIMIT);
  const offset = Math.min(Math.max(Math.trunc(q.offset ?? 0) || 0, 0), MAX_QUERY_OFFSET);
  return { limit, offset };
}

/** A machine's arch as the query's arch term reads it (facts first, then boot facts), or undefined. */
export function machineArch(m: Pick<MachineRecord, 'facts' | 'bootFacts'>): string | undefined {
  const facts = m.facts?.arch;
  if (facts !== undefined && facts !== null) return typeof facts === 'string' ? facts : JSON.stringify(facts);
  const boot = m.bootFacts?.arch;
  return boot === undefined ? undefined : BOOT_ARCH_NAMES[boot];
}
