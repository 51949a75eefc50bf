// The store's types in one import: the records (records.ts) and the ports (ports.ts). Callers that
// need the whole store import `Store` from here; a consumer that needs one part takes that port.
export type * from './records.js';
export type * from './ports.js';
export type * from './machine-query.js';
