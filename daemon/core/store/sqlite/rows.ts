// Row → record mapping for the SQLite store: times are stored as ISO text, JSON as text, flags as
// 0/1 (a row from before the flag existed reads as set). The mapping itself is shared.
import { recordMappers, type Row } from '../row-records.js';

export type { Row };

export const json = (v: unknown): string => JSON.stringify(v);

export const { machineFromRow, eventFromRow, leaseFromRow, operationFromRow, allocationFromRow, apiTokenFromRow, rackFromRow, workFromRow } = recordMappers({
  time: (v) => v as string,
  json: <T>(v: unknown, fallback: T): T => (typeof v === 'string' && v !== '' ? (JSON.parse(v) as T) : fallback),
  bool: (v) => v === undefined || Number(v) === 1,
});
