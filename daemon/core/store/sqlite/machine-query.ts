// MachineStore.queryMachines on SQLite: the shared query (../machine-query.ts) in SQLite's words.
// Parameters are named (@p1…): the text term's pattern appears once per column it searches. The
// limit and offset are parameters too: statements are cached by their text, one per filter shape.
// LIKE is SQLite's own, case-insensitive for ASCII letters (PRAGMA case_sensitive_like is off).
import { machineFromRow, type Row } from './rows.js';
import type { SqliteDb } from './db.js';
import { machineQuerySql, pageBounds, pageSelect, RACK_STATE_COUNT_SQL, stateCountSql, type RackCount, type MachinePage, type MachineQuery, type QueryDialect, type StateCounts } from '../machine-query.js';

const SQLITE: QueryDialect = {
  param: (n) => `@p${n}`,
  hasTag: (p) => `EXISTS (SELECT 1 FROM json_each(machines.tags) WHERE lower(json_each.value) = ${p})`,
  factsArch: "json_extract(facts, '$.arch')",
  bootArch: "CAST(json_extract(boot_facts, '$.arch') AS TEXT)",
  contains: (column, p) => `${column} LIKE ${p} ESCAPE '\\'`,
  collate: '',
};

export function queryMachines(d: SqliteDb, q: MachineQuery): MachinePage {
  const { where, orderBy, params } = machineQuerySql(q, SQLITE);
  const { limit, offset } = pageBounds(q);
  const named = { ...Object.fromEntries(params.map((v, i) => [`p${i + 1}`, v])), limit, offset };
  // One read transaction: the page and the count see the same machines.
  return d.db.transaction(() => {
    const total = d.stmt(`SELECT count(*) FROM machines WHERE ${where}`).pluck().get(named) as number;
    const rows = d.stmt(pageSelect(where, orderBy, '@limit', '@offset')).all(named) as Row[];
    return { machines: rows.map(machineFromRow), total };
  }).deferred();
}

export function countByState(d: SqliteDb, scopeOwner?: string): StateCounts {
  const { sql, params } = stateCountSql(scopeOwner, '?');
  const rows = d.stmt(sql).all(...params) as { state: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

export function countByRack(d: SqliteDb): RackCount[] {
  return d.stmt(RACK_STATE_COUNT_SQL).all() as RackCount[];
}
