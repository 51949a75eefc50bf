// MachineStore.queryMachines on PostgreSQL: the shared query (../machine-query.ts) in PostgreSQL's
// words. ILIKE folds case beyond ASCII; text sorts are COLLATE "C", bytewise as SQLite's. The
// page and its count are one statement, so they see the same snapshot; the count is a subquery of
// its own, not a window over the page's query (which carried every matching row, facts and all,
// through the sort before the LIMIT: 111 ms for the first page of 10,000, BENCHMARKS.md).
import { machineFromRow, type Row } from './rows.js';
import type { PgDb } from './db.js';
import { machineQuerySql, pageBounds, pageSelect, RACK_STATE_COUNT_SQL, stateCountSql, type RackCount, type MachinePage, type MachineQuery, type QueryDialect, type StateCounts } from '../machine-query.js';

const POSTGRES: QueryDialect = {
  param: (n) => `$${n}`,
  hasTag: (p) => `EXISTS (SELECT 1 FROM jsonb_array_elements_text(tags) AS tag WHERE lower(tag) = ${p})`,
  factsArch: "(facts->>'arch')",
  bootArch: "(boot_facts->>'arch')",
  contains: (column, p) => `${column} ILIKE ${p} ESCAPE '\\'`,
  collate: ' COLLATE "C"',
};

export async function queryMachines(d: PgDb, q: MachineQuery): Promise<MachinePage> {
  const { where, orderBy, params } = machineQuerySql(q, POSTGRES);
  const { limit, offset } = pageBounds(q);
  const rows = await d.rows(`SELECT found.*, (SELECT count(*) FROM machines WHERE ${where}) AS matching
      FROM (${pageSelect(where, orderBy, String(limit), String(offset))}) AS found ORDER BY ${orderBy}`, params);
  // Past the last page there is no row to carry the count: ask for it alone.
  const total = rows[0] ? Number(rows[0].matching) : offset === 0 ? 0 : Number((await d.row(`SELECT count(*) AS n FROM machines WHERE ${where}`, params))!.n);
  return { machines: (rows as Row[]).map(machineFromRow), total };
}

export async function countByState(d: PgDb, scopeOwner?: string): Promise<StateCounts> {
  const { sql, params } = stateCountSql(scopeOwner, '$1');
  // count(*) is a bigint, which the driver hands over as text.
  return Object.fromEntries((await d.rows(sql, params)).map((r) => [String(r.state), Number(r.n)]));
}

export async function countByRack(d: PgDb): Promise<RackCount[]> {
  return (await d.rows(RACK_STATE_COUNT_SQL)).map((r) => ({ rack: r.rack === null ? null : String(r.rack), state: r.state as RackCount['state'], n: Number(r.n) }));
}
