// Row → record mapping shared by the store adapters: snake_case columns to camelCase records.
// What differs between databases is only how a column's value comes back (a time as ISO text or
// as a Date, JSON as text or already parsed, a flag as 0/1 or a boolean): each adapter hands in
// its readers, so the records are the same whichever store holds them.
import type { AllocationRecord, ApiTokenRecord, EventRecord, LeaseRecord, MachineRecord, OperationRecord, RackRecord, WorkRecord } from './records.js';
import type { State } from '../lifecycle.js';

export type Row = Record<string, unknown>;

export interface ColumnReaders {
  /** A time column as the ISO string records carry. */
  time(v: unknown): string;
  /** A JSON column, or `fallback` when it is empty. */
  json<T>(v: unknown, fallback: T): T;
  /** A flag column. */
  bool(v: unknown): boolean;
}

const str = (v: unknown): string => v as string;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));

export function recordMappers(read: ColumnReaders) {
  const timeOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : read.time(v));
  function machineFromRow(r: Row): MachineRecord {
    return {
      name: str(r.name),
      rack: strOrNull(r.rack),
      mac: str(r.mac),
      ip: strOrNull(r.ip),
      hostname: str(r.hostname),
      profile: strOrNull(r.profile),
      tags: read.json<string[]>(r.tags, []),
      power: read.json(r.power, { driver: 'manual' }),
      state: str(r.state) as State,
      previousState: strOrNull(r.previous_state) as State | null,
      lastError: strOrNull(r.last_error),
      owner: strOrNull(r.owner),
      deployProfile: strOrNull(r.deploy_profile),
      facts: read.json(r.facts, null),
      bootFacts: read.json(r.boot_facts, null),
      source: str(r.source) as MachineRecord['source'],
      retiredAt: timeOrNull(r.retired_at),
      stateChangedAt: read.time(r.state_changed_at),
      createdAt: read.time(r.created_at),
      updatedAt: read.time(r.updated_at),
      version: Number(r.version),
      accepted: read.bool(r.accepted),
    };
  }

  function eventFromRow(r: Row): EventRecord {
    return {
      id: Number(r.id),
      time: read.time(r.time),
      machine: strOrNull(r.machine),
      kind: str(r.kind) as EventRecord['kind'],
      event: strOrNull(r.event),
      from: strOrNull(r.from_state) as State | null,
      to: strOrNull(r.to_state) as State | null,
      cause: strOrNull(r.cause),
      actor: str(r.actor),
      data: read.json(r.data, null),
    };
  }

  function leaseFromRow(r: Row): LeaseRecord {
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

  function operationFromRow(r: Row): OperationRecord {
    return {
      id: str(r.id),
      machine: str(r.machine),
      kind: str(r.kind),
      token: str(r.token),
      state: str(r.state) as OperationRecord['state'],
      step: strOrNull(r.step),
      progress: read.json(r.progress, null),
      error: strOrNull(r.error),
      createdAt: read.time(r.created_at),
      finishedAt: timeOrNull(r.finished_at),
    };
  }

  function allocationFromRow(r: Row): AllocationRecord {
    return {
      id: str(r.id),
      owner: str(r.owner),
      profile: str(r.profile),
      constraints: read.json(r.constraints, {}),
      machines: read.json<string[]>(r.machines, []),
      state: str(r.state) as AllocationRecord['state'],
      actor: str(r.actor),
      createdAt: read.time(r.created_at),
      releasedAt: timeOrNull(r.released_at),
    };
  }

  function apiTokenFromRow(r: Row): ApiTokenRecord {
    return {
      name: str(r.name),
      owner: str(r.owner),
      digest: str(r.digest),
      createdBy: str(r.created_by),
      createdAt: read.time(r.created_at),
      expiresAt: timeOrNull(r.expires_at),
      revokedAt: timeOrNull(r.revoked_at),
      lastUsedAt: timeOrNull(r.last_used_at),
    };
  }

  /** `silent_for` is computed by the query, by the store's clock. */
  function rackFromRow(r: Row): RackRecord {
    return {
      name: str(r.name),
      daemon: str(r.daemon),
      info: read.json(r.info, {}),
      startedAt: read.time(r.started_at),
      heartbeatAt: read.time(r.heartbeat_at),
      silentFor: Math.max(0, Math.round(Number(r.silent_for) * 10) / 10),
      stoppedAt: timeOrNull(r.stopped_at),
    };
  }

  function workFromRow(r: Row): WorkRecord {
    return {
      id: Number(r.id),
      machine: str(r.machine),
      operation: str(r.operation),
      kind: str(r.kind) as WorkRecord['kind'],
      createdAt: read.time(r.created_at),
      claimedBy: strOrNull(r.claimed_by),
      claimedUntil: timeOrNull(r.claimed_until),
      attempts: Number(r.attempts),
      step: strOrNull(r.step),
      doneAt: timeOrNull(r.done_at),
      outcome: strOrNull(r.outcome),
    };
  }

  return { machineFromRow, eventFromRow, leaseFromRow, operationFromRow, allocationFromRow, apiTokenFromRow, rackFromRow, workFromRow };
}
