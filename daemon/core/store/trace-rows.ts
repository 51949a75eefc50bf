// The boot trace's row ↔ record mapping, shared by both backends: each hands in how it reads a
// time and a JSON column (SQLite: ISO text and JSON text; PostgreSQL: a Date and parsed jsonb).
import type { TraceEntry, TraceKind, TraceOutcome, TraceValue } from '../boot-trace.js';

export type Row = Record<string, unknown>;

export function traceFromRow(r: Row, time: (v: unknown) => string, json: (v: unknown) => unknown): TraceEntry {
  return {
    id: Number(r.id), machine: String(r.machine), at: time(r.at), kind: r.kind as TraceKind, outcome: r.outcome as TraceOutcome,
    summary: String(r.summary), detail: (json(r.detail) ?? {}) as Record<string, TraceValue>,
    ...(r.text !== null && r.text !== undefined && { text: String(r.text) }),
  };
}
