// Row ↔ record mapping for the PostgreSQL store: snake_case to camelCase, timestamptz (a Date from
// node-postgres) back to the ISO string the records carry, bigint (a string from node-postgres, so
// nothing is rounded silently) to a number. jsonb comes back parsed already.
import type { AllocationRecord, ApiTokenRecord, EventRecord, LeaseRecord, MachineRecord, OperationRecord } from '../records.js';
import type { State } from '../../lifecycle.js';

export type Row = Record<string, unknown>;

const str = (v: unknown): string => v as string;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));
const jsonOr = <T>(v: unknown, fallback: T): T => (v === null || v === undefined ? fallback : (v as T));

export function machineFromRow(r: Row): MachineRecord {
  return {
    name: str(r.name),
    mac: str(r.mac),
    ip: strOrNull(r.ip),
    hostname: str(r.hostname),
    profile: strOrNull(r.profile),
    tags: jsonOr<string[]>(r.tags, []),
    power: jsonOr(r.power, { driver: 'manual' }),
    state: str(r.state) as State,
    previousState: strOrNull(r.previous_state) as State | null,
    lastError: strOrNull(r.last_error),
    owner: strOrNull(r.owner),
    deployProfile: strOrNull(r.deploy_profile),
    facts: jsonOr(r.facts, null),
    bootFacts: jsonOr(r.boot_facts, null),
    source: str(r.source) as MachineRecord['source'],
    retiredAt: isoOrNull(r.retired_at),
    stateChangedAt: iso(r.state_changed_at),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    version: Number(r.version),
    accepted: r.accepted === true,
  };
}

export function eventFromRow(r: Row): EventRecord {
  return {
    id: Number(r.id),
    time: iso(r.time),
    machine: strOrNull(r.machine),
    kind: str(r.kind) as EventRecord['kind'],
    event: strOrNull(r.event),
    from: strOrNull(r.from_state) as State | null,
    to: strOrNull(r.to_state) as State | null,
    cause: strOrNull(r.cause),
    actor: str(r.actor),
    data: jsonOr(r.data, null),
  };
}

export function leaseFromRow(r: Row): LeaseRecord {
  return {
    mac: str(r.mac),
    ip: str(r.ip),
    state: str(r.state) as LeaseRecord['state'],
    expiresAt: Number(r.expires_at),
    hostname: strOrNull(r.hostname),
    machine: strOrNull(r.machine),
    updatedAt: Number(r.updated_at),
  };
}

export function operationFromRow(r: Row): OperationRecord {
  return {
    id: str(r.id),
    machine: str(r.machine),
    kind: str(r.kind),
    token: str(r.token),
    state: str(r.state) as OperationRecord['state'],
    step: strOrNull(r.step),
    progress: jsonOr(r.progress, null),
    error: strOrNull(r.error),
    createdAt: iso(r.created_at),
    finishedAt: isoOrNull(r.finished_at),
  };
}

export function allocationFromRow(r: Row): AllocationRecord {
  return {
    id: str(r.id),
    owner: str(r.owner),
    profile: str(r.profile),
    constraints: jsonOr(r.constraints, {}),
    machines: jsonOr<string[]>(r.machines, []),
    state: str(r.state) as AllocationRecord['state'],
    actor: str(r.actor),
    createdAt: iso(r.created_at),
    releasedAt: isoOrNull(r.released_at),
  };
}

export function apiTokenFromRow(r: Row): ApiTokenRecord {
  return {
    name: str(r.name),
    owner: str(r.owner),
    digest: str(r.digest),
    createdBy: str(r.created_by),
    createdAt: iso(r.created_at),
    expiresAt: isoOrNull(r.expires_at),
    revokedAt: isoOrNull(r.revoked_at),
    lastUsedAt: isoOrNull(r.last_used_at),
  };
}
