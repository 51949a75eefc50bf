// What the API shows of a machine: everything but the power section's secrets' sources, which
// only admins need (no password is ever stored, so none can leak).
import type { MachineRecord, OperationRecord } from '../core/store/types.js';
import { allowedEvents, OPERATOR_EVENTS, timeoutFor } from '../core/lifecycle.js';

export function machineView(m: MachineRecord, opts: { timeouts?: Record<string, number | undefined> } = {}) {
  const timeout = timeoutFor(m.state, opts.timeouts as never);
  return {
    name: m.name,
    mac: m.mac,
    ip: m.ip,
    hostname: m.hostname,
    profile: m.profile,
    deploy_profile: m.deployProfile,
    tags: m.tags,
    state: m.state,
    previous_state: m.previousState,
    last_error: m.lastError,
    owner: m.owner,
    source: m.source,
    accepted: m.accepted,
    retired: m.retiredAt !== null,
    retired_at: m.retiredAt,
    state_changed_at: m.stateChangedAt,
    deadline: timeout === undefined ? null : new Date(Date.parse(m.stateChangedAt) + timeout * 1000).toISOString(),
    allowed_events: allowedEvents(m.state, OPERATOR_EVENTS),
    power: { driver: m.power.driver, address: m.power.address ?? null, port: m.power.port ?? null },
    facts: m.facts,
    boot_facts: m.bootFacts,
    created_at: m.createdAt,
    updated_at: m.updatedAt,
  };
}

/** What the API shows of an operation: everything but its token, the machine's secret. */
export function operationView(op: OperationRecord) {
  return { id: op.id, kind: op.kind, state: op.state, step: op.step, progress: op.progress, error: op.error, created_at: op.createdAt, finished_at: op.finishedAt };
}
