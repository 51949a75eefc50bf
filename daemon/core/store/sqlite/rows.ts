// Row ↔ record mapping for the SQLite store: JSON columns parsed, snake_case to camelCase.
import type { AllocationRecord, ApiTokenRecord, EventRecord, LeaseRecord, MachineRecord, OperationRecord } from '../records.js';
import type { State } from '../../lifecycle.js';

export type Row = Record<string, unknown>;

export const json = (v: unknown): string => JSON.stringify(v);

function parse<T>(v: unknown, fallback: T): T {
  return typeof v === 'string' && v !== '' ? (JSON.parse(v) as T) : fallback;
}

const str = (v: unknown): string => v as string;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));

export function machineFromRow(r: Row): MachineRecord {
  return {
    name: str(r.name),
    mac: str(r.mac),
    ip: strOrNull(r.ip),
    hostname: str(r.hostname),
    profile: strOrNull(r.profile),
    tags: parse<string[]>(r.tags, []),
    power: parse(r.power, { driver: 'manual' }),
    state: str(r.state) as State,
    previousState: strOrNull(r.previous_state) as State | null,
    lastError: strOrNull(r.last_error),
    owner: strOrNull(r.owner),
    deployProfile: strOrNull(r.deploy_profile),
    facts: parse(r.facts, null),
    bootFacts: parse(r.boot_facts, null),
    source: str(r.source) as MachineRecord['source'],
    retiredAt: strOrNull(r.retired_at),
    stateChangedAt: str(r.state_changed_at),
    createdAt: str(r.created_at),
    updatedAt: str(r.updated_at),
    version: Number(r.version),
    accepted: r.accepted === undefined || Number(r.accepted) === 1,
  };
}

export function eventFromRow(r: Row): EventRecord {
  return {
    id: Number(r.id),
    time: str(r.time),
    machine: strOrNull(r.machine),
    kind: str(r.kind) as EventRecord['kind'],
    event: strOrNull(r.event),
    from: strOrNull(r.from_state) as State | null,
    to: strOrNull(r.to_state) as State | null,
    cause: strOrNull(r.cause),
    actor: str(r.actor),
    data: parse(r.data, null),
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
    progress: parse(r.progress, null),
    error: strOrNull(r.error),
    createdAt: str(r.created_at),
    finishedAt: strOrNull(r.finished_at),
  };
}

export function allocationFromRow(r: Row): AllocationRecord {
  return {
    id: str(r.id),
    owner: str(r.owner),
    profile: str(r.profile),
    constraints: parse(r.constraints, {}),
    machines: parse<string[]>(r.machines, []),
    state: str(r.state) as AllocationRecord['state'],
    actor: str(r.actor),
    createdAt: str(r.created_at),
    releasedAt: strOrNull(r.released_at),
  };
}

export function apiTokenFromRow(r: Row): ApiTokenRecord {
  return {
    name: str(r.name),
    owner: str(r.owner),
    digest: str(r.digest),
    createdBy: str(r.created_by),
    createdAt: str(r.created_at),
    expiresAt: strOrNull(r.expires_at),
    revokedAt: strOrNull(r.revoked_at),
    lastUsedAt: strOrNull(r.last_used_at),
  };
}
