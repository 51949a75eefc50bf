// Row → record mapping for the PostgreSQL store: timestamptz comes back as a Date (turned into the
// ISO string the records carry), jsonb already parsed, booleans as booleans; bigint columns come
// as strings (nothing rounded silently) and the shared mapping makes them numbers. The mapping
// itself is shared with SQLite.
import { recordMappers, type Row } from '../row-records.js';

export type { Row };

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

export const { machineFromRow, eventFromRow, leaseFromRow, operationFromRow, allocationFromRow, apiTokenFromRow, rackFromRow, workFromRow } = recordMappers({
  time: iso,
  json: <T>(v: unknown, fallback: T): T => (v === null || v === undefined ? fallback : (v as T)),
  bool: (v) => v === true,
});
