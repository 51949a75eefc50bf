// What the API shows of a machine: everything but the power section's secrets' sources, which
// only admins need (no password is ever stored, so none can leak). A tenant sees no BMC detail at
// all: its machine's power section is the driver's name alone, and the BMC's address, port and
// user name are cut from any text it is shown (a BMC error in last_error, a power event).
import type { EventRecord, MachineRecord, OperationRecord, PowerSpec } from '../../core/store/types.js';
import { machineEvents, OPERATOR_EVENTS, timeoutFor } from '../../core/lifecycle.js';

/** Replaces the BMC's address, port and user name in `text` with [bmc]. */
export function redactBmc(text: string, power: PowerSpec): string;
export function redactBmc(text: string | null, power: PowerSpec): string | null;
export function redactBmc(text: string | null, power: PowerSpec): string | null {
  if (text === null) return null;
  const secrets = [
    power.address && power.port ? `${power.address}:${power.port}` : undefined,
    power.address, power.username, power.password_env, power.password_file,
  ].filter((x): x is string => typeof x === 'string' && x.length > 0);
  let out = text;
  for (const s of secrets) out = out.split(s).join('[bmc]');
  return out;
}

/** An event as a tenant sees it: BMC details cut from its cause and data. */
export function tenantEventView(e: EventRecord, power: PowerSpec | undefined): EventRecord {
  if (!power) return e;
  const deep = (v: unknown): unknown => (typeof v === 'string' ? redactBmc(v, power)
    : Array.isArray(v) ? v.map(deep)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)])) : v);
  return { ...e, cause: redactBmc(e.cause, power), data: e.data ? deep(e.data) as Record<string, unknown> : null };
}

export function machineView(m: MachineRecord, opts: { timeouts?: Record<string, number | undefined>; tenant?: boolean } = {}) {
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
    last_error: opts.tenant ? redactBmc(m.lastError, m.power) : m.lastError,
    owner: m.owner,
    source: m.source,
    accepted: m.accepted,
    retired: m.retiredAt !== null,
    retired_at: m.retiredAt,
    state_changed_at: m.stateChangedAt,
    deadline: timeout === undefined ? null : new Date(Date.parse(m.stateChangedAt) + timeout * 1000).toISOString(),
    allowed_events: machineEvents(m, OPERATOR_EVENTS),
    power: opts.tenant ? { driver: m.power.driver } : { driver: m.power.driver, address: m.power.address ?? null, port: m.power.port ?? null },
    facts: m.facts,
    boot_facts: m.bootFacts,
    created_at: m.createdAt,
    updated_at: m.updatedAt,
  };
}

/** What the API shows of an operation: everything but its token, the machine's secret (and, to a tenant, the BMC). */
export function operationView(op: OperationRecord) {
  return { id: op.id, kind: op.kind, state: op.state, step: op.step, progress: op.progress, error: op.error, created_at: op.createdAt, finished_at: op.finishedAt };
}

/** An operation as a tenant sees it: no BMC detail in its error. */
export function tenantOperationView(op: OperationRecord, power: PowerSpec) {
  return { ...operationView(op), error: redactBmc(op.error, power) };
}
