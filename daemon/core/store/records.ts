// The records the store's ports take and give: plain data, no behaviour, the same whatever backend
// keeps them (ports.ts says which port reads and writes which).
import type { LifecycleEvent, Outcome, State, Actor } from '../lifecycle.js';

export interface PowerSpec {
  driver: string;
  address?: string;
  port?: number;
  username?: string;
  /** Where the password comes from; the password itself is never stored. */
  password_env?: string;
  password_file?: string;
  [key: string]: unknown;
}

/** The last facts a machine's boot firmware or iPXE told the DHCP server. */
export interface BootFacts {
  arch?: number;
  vendorClass?: string;
  userClass?: string;
  ip?: string;
  /**
   * True when Rackhand's DHCP server gave the machine `ip` (full mode); false when `ip` is only the
   * address its proxyDHCP exchange came from (proxy mode), which anyone claiming its MAC can send.
   */
  ipAssigned?: boolean;
  interface?: string;
  seenAt: string;
}

/** The inventory's view of a machine: what sync writes. */
export interface MachineSpec {
  name: string;
  /** The rack whose daemon serves it (many racks); null or absent with one daemon. */
  rack?: string | null;
  mac: string;
  ip: string | null;
  hostname: string;
  profile: string | null;
  tags: string[];
  power: PowerSpec;
}

export interface MachineRecord extends MachineSpec {
  rack: string | null;
  state: State;
  previousState: State | null;
  lastError: string | null;
  owner: string | null;
  /** The profile of the deployment under way or done (may differ from the inventory's). */
  deployProfile: string | null;
  facts: Record<string, unknown> | null;
  bootFacts: BootFacts | null;
  source: 'inventory' | 'discovered';
  /** Set when the machine left the inventory; its history stays. */
  retiredAt: string | null;
  stateChangedAt: string;
  createdAt: string;
  updatedAt: string;
  /** Incremented by every write to the row. */
  version: number;
  /** Allocatable: inventory machines always; discovered ones once an operator accepted them. */
  accepted: boolean;
}

export type EventKind = 'transition' | 'inventory' | 'auth' | 'boot' | 'power' | 'agent' | 'note';

export interface EventRecord {
  id: number;
  time: string;
  machine: string | null;
  kind: EventKind;
  event: string | null;
  from: State | null;
  to: State | null;
  cause: string | null;
  actor: string;
  data: Record<string, unknown> | null;
}

export interface NewEvent {
  machine: string | null;
  kind: EventKind;
  event?: string | null;
  cause?: string | null;
  actor: Actor | string;
  data?: Record<string, unknown> | null;
}

export interface EventQuery {
  machine?: string;
  /** Only events with id greater than this (for --follow). */
  afterId?: number;
  /** Only events at or after this ISO time. */
  since?: string;
  limit?: number;
}

export type LeaseState = 'offered' | 'bound' | 'released' | 'declined';

export interface LeaseRecord {
  mac: string;
  ip: string;
  state: LeaseState;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  hostname: string | null;
  machine: string | null;
  updatedAt: number;
}

export type OperationState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface OperationRecord {
  id: string;
  machine: string;
  kind: string;
  /** Random per-operation secret carried by boot-time requests (never reused). */
  token: string;
  state: OperationState;
  step: string | null;
  progress: Record<string, unknown> | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** An operation a transition starts: its identity and secret are minted in core, not by the store. */
export interface NewOperation {
  id: string;
  /** The activity of the transitional state entered (lifecycle ACTIVITY). */
  kind: string;
  /** Random per-operation secret carried by boot-time requests (never reused). */
  token: string;
}

/**
 * What one transition does to the machine's operations, decided by core/operation-plan.ts from the
 * lifecycle outcome. The store writes it as data, in the transition's own transaction: it holds
 * no rule of its own about which operation ends how.
 */
export interface OperationPlan {
  /** How the machine's running operation ends, if it has one. */
  endRunning: { state: Exclude<OperationState, 'running'>; error: string | null };
  /** The operation to start after the running one ended (null: none). */
  start: NewOperation | null;
}

export interface TransitionRequest {
  machine: string;
  outcome: Outcome;
  /** What happens to the machine's operations (core/operation-plan.ts), applied with the compare-and-set. */
  operations: OperationPlan;
  cause: string | null;
  actor: Actor | string;
  /** Extra columns to set in the same write (for example the deploy profile). */
  deployProfile?: string | null;
  data?: Record<string, unknown> | null;
  /**
   * The machine's version as the caller read it: when given, the compare-and-set holds on it too.
   * State alone is not enough: a machine released by one owner and allocated by the next is
   * `allocated` again, and a decision made on the first owner's machine must not land on it.
   */
  version?: number;
}

/** A transition made: the machine after it, its event, and the operation it started (entering a transitional state), if any. */
export interface Transitioned { machine: MachineRecord; event: EventRecord; operation?: OperationRecord }

export type TransitionResult =
  | ({ ok: true } & Transitioned)
  /** Lost the race: the machine was no longer in `outcome.from`. */
  | { ok: false; current: MachineRecord | undefined };

/** The few fields of a live machine that a DHCP exchange needs, read without parsing the rest. */
export type MachineBrief = Pick<MachineRecord, 'name' | 'mac' | 'ip' | 'hostname' | 'state' | 'source'>;

export interface SyncChange {
  name: string;
  change: 'enrolled' | 'updated' | 'retired' | 'restored';
  fields?: Record<string, { from: unknown; to: unknown }>;
}

export type AllocationState = 'active' | 'released';

/** Machines allocated to an owner by one request (SPEC §2b). */
export interface AllocationRecord {
  id: string;
  owner: string;
  profile: string;
  constraints: Record<string, unknown>;
  machines: string[];
  state: AllocationState;
  /** Who asked (the token's actor string). */
  actor: string;
  createdAt: string;
  releasedAt: string | null;
}

export interface AllocateRequest {
  allocation: Omit<AllocationRecord, 'state' | 'createdAt' | 'releasedAt'>;
  /** One ready → allocated outcome per machine, each written with its own compare-and-set. */
  transitions: TransitionRequest[];
}

export type AllocateResult =
  /** `transitions`: each machine's transition with its event, in the order asked. */
  | { ok: true; allocation: AllocationRecord; machines: MachineRecord[]; transitions: Transitioned[] }
  /** `lost`: the machine that was no longer ready; nothing was written. */
  | { ok: false; lost: string };

/** An owner-scoped API token; the secret itself is never stored. */
export interface ApiTokenRecord {
  name: string;
  owner: string;
  /** sha256 of the secret, hex. */
  digest: string;
  createdBy: string;
  createdAt: string;
  /** When the token stops working (null: never). */
  expiresAt: string | null;
  /** Set once an admin revoked it; the row stays, so the name and its events keep meaning. */
  revokedAt: string | null;
  /** Kept to the minute: a busy tenant does not write a row per request. */
  lastUsedAt: string | null;
}

/** What creating a tenant token takes; expiry is optional. */
export type NewApiToken = Pick<ApiTokenRecord, 'name' | 'owner' | 'digest' | 'createdBy'> & { expiresAt?: string | null };

export type NonceTrade =
  | { ok: true; operation: OperationRecord }
  /** `operation`: the nonce's operation when the nonce was known (a replay, an expiry, an ended operation). */
  | { ok: false; why: 'unknown' | 'traded' | 'expired' | 'ended'; operation?: OperationRecord };

/** A machine just forgotten, with what forgetting it let go of. */
export interface ForgottenMachine {
  machine: MachineRecord;
  /** The address its lease held, now free (null: it had none). */
  freedLease: string | null;
  /** The operation that was running, now cancelled (null: none was). */
  cancelledOperation: string | null;
}

/** Core's verdict on forgetting one machine (core/forget.ts): why not, or undefined when it may. */
export type ForgetVerdict = (m: MachineRecord) => { reason: 'inventory' | 'in_use'; detail: string } | undefined;

export type ForgetResult =
  | ({ ok: true } & ForgottenMachine)
  /** not_found: no live machine of that name; the others say why in `detail`. */
  | { ok: false; reason: 'not_found' | 'inventory' | 'in_use'; detail: string };

export type { LifecycleEvent };

/** One rack's daemon as the store last heard it (many racks on one PostgreSQL). */
export interface RackRecord {
  name: string;
  /** The daemon serving it now: a random id per process start. */
  daemon: string;
  /** Where its API is reached (host:port), and what it serves, as it reported. */
  info: Record<string, unknown>;
  startedAt: string;
  heartbeatAt: string;
  /** Seconds since its last heartbeat, by the store's own clock (one clock for every daemon). */
  silentFor: number;
  /** Set when it stopped cleanly. */
  stoppedAt: string | null;
}

export type HeartbeatResult = { ok: true } | { ok: false; holder: string; silentFor: number };

/**
 * Work a rack must do for one of its machines, durable so that a daemon that dies mid-way
 * leaves it to be claimed again: `boot` (a transition started an operation: boot the machine
 * into it), `takeover` (its rack fell silent mid-operation: boot it again through the standby).
 */
export interface WorkRecord {
  id: number;
  machine: string;
  operation: string;
  kind: 'boot' | 'takeover';
  createdAt: string;
  claimedBy: string | null;
  claimedUntil: string | null;
  attempts: number;
  /** How far it got (e.g. `power_sent`), so whoever claims it next does not repeat a step. */
  step: string | null;
  doneAt: string | null;
  outcome: string | null;
}

export interface ClaimRequest {
  /** Racks whose machines' work this daemon takes; null stands for machines with no rack. */
  racks: (string | null)[];
  daemon: string;
  /** A claim not extended within this many seconds may be taken by another daemon. */
  leaseSeconds: number;
  limit: number;
}

/** A lease not written: another MAC holds its address, bound and unexpired (lease-guard.ts). */
export interface LeaseConflict {
  lease: LeaseRecord;
  holder: LeaseRecord;
}
