// The store as the rest of Rackhand sees it: plain data in, plain data out, every call async so
// that a PostgreSQL backend can replace SQLite without touching a caller. "Not found" is a normal
// answer (undefined), never an exception.
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
  mac: string;
  ip: string | null;
  hostname: string;
  profile: string | null;
  tags: string[];
  power: PowerSpec;
}

export interface MachineRecord extends MachineSpec {
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

export interface TransitionRequest {
  machine: string;
  outcome: Outcome;
  cause: string | null;
  actor: Actor | string;
  /** Extra columns to set in the same write (for example the deploy profile). */
  deployProfile?: string | null;
  data?: Record<string, unknown> | null;
}

export type TransitionResult =
  /** `operation`: the one the transition started (entering a transitional state), if any. */
  | { ok: true; machine: MachineRecord; event: EventRecord; operation?: OperationRecord }
  /** Lost the race: the machine was no longer in `outcome.from`. */
  | { ok: false; current: MachineRecord | undefined };

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
  | { ok: true; allocation: AllocationRecord; machines: MachineRecord[] }
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

export interface Store {
  /** Applies pending schema migrations; returns the schema version after. */
  migrate(): Promise<number>;
  close(): Promise<void>;

  listMachines(opts?: { includeRetired?: boolean; state?: State; owner?: string }): Promise<MachineRecord[]>;
  getMachine(name: string): Promise<MachineRecord | undefined>;
  machineByMac(mac: string): Promise<MachineRecord | undefined>;

  /** Makes the store's machines match the inventory, recording one event per change. */
  syncInventory(specs: MachineSpec[], actor: string): Promise<SyncChange[]>;
  /** Enrols a machine first seen by discovery (not from the inventory). */
  enrolDiscovered(spec: MachineSpec): Promise<MachineRecord>;

  /**
   * One compare-and-set on the state and its event row, in one transaction. Operations follow
   * the state in the same transaction: entering a transitional state cancels any running
   * operation and starts a new one with a fresh token; leaving it ends the running one
   * (succeeded, failed, or cancelled by maintenance).
   */
  transition(req: TransitionRequest): Promise<TransitionResult>;
  recordBootFacts(name: string, facts: BootFacts): Promise<void>;
  setFacts(name: string, facts: Record<string, unknown>): Promise<void>;

  appendEvent(ev: NewEvent): Promise<EventRecord>;
  listEvents(q?: EventQuery): Promise<EventRecord[]>;
  countEvents(): Promise<Record<string, number>>;

  getLease(mac: string): Promise<LeaseRecord | undefined>;
  leaseByIp(ip: string): Promise<LeaseRecord | undefined>;
  listLeases(): Promise<LeaseRecord[]>;
  /** Inserts or replaces the lease of `mac`; durable when the promise resolves. */
  putLease(lease: LeaseRecord): Promise<void>;
  /** Several lease writes in one transaction (one fsync for a burst of ACKs). */
  putLeases(leases: LeaseRecord[]): Promise<void>;
  deleteLease(mac: string): Promise<void>;

  getOperation(id: string): Promise<OperationRecord | undefined>;
  operationByToken(token: string): Promise<OperationRecord | undefined>;
  activeOperation(machine: string): Promise<OperationRecord | undefined>;
  /** The machine's most recent operation, whatever its state. */
  latestOperation(machine: string): Promise<OperationRecord | undefined>;
  /** The machine's operations, newest first. */
  listOperations(machine: string, limit: number): Promise<OperationRecord[]>;
  updateOperation(id: string, patch: Partial<Pick<OperationRecord, 'state' | 'step' | 'progress' | 'error'>>): Promise<void>;

  /**
   * Allocates machines all or nothing: every transition is a compare-and-set, and all of them
   * with the allocation row commit in one transaction, or none does (a lost race writes nothing).
   */
  allocate(req: AllocateRequest): Promise<AllocateResult>;
  getAllocation(id: string): Promise<AllocationRecord | undefined>;
  listAllocations(opts?: { owner?: string; state?: AllocationState }): Promise<AllocationRecord[]>;
  /** The owner's allocations that include the machine, newest first. */
  allocationsOfMachine(machine: string, owner?: string): Promise<AllocationRecord[]>;
  /** active → released, once: false when it was already released (or does not exist). */
  markAllocationReleased(id: string): Promise<boolean>;

  createApiToken(rec: NewApiToken): Promise<ApiTokenRecord>;
  apiTokenByDigest(digest: string): Promise<ApiTokenRecord | undefined>;
  listApiTokens(opts?: { owner?: string }): Promise<ApiTokenRecord[]>;

  /** Gives a running operation a new boot nonce (sha256 hex), replacing any earlier one. */
  setBootNonce(operationId: string, digest: string, expiresAt: string): Promise<void>;
  /**
   * Trades a boot nonce once, atomically: when `digest` is a running operation's untraded,
   * unexpired nonce, marks it traded and makes `agentDigest` the operation's agent token.
   */
  tradeBootNonce(digest: string, agentDigest: string, now: string): Promise<NonceTrade>;
  /** The operation whose boot nonce (traded or not) has this digest, whatever its state. */
  operationByNonceDigest(digest: string): Promise<OperationRecord | undefined>;
  /** The operation whose agent token has this digest, whatever its state. */
  operationByAgentDigest(digest: string): Promise<OperationRecord | undefined>;
  /** Discovered machines (live) that no operator has accepted yet. */
  countPendingDiscovered(): Promise<number>;
  /**
   * An operator accepts a discovered machine: it becomes allocatable. `accepted` says whether this
   * call changed it (false: it was accepted already); undefined when no live machine has the name.
   */
  acceptMachine(name: string, actor: string): Promise<{ machine: MachineRecord; accepted: boolean } | undefined>;
  /** Marks the token revoked (once); undefined when there is no token of that name. */
  revokeApiToken(name: string): Promise<ApiTokenRecord | undefined>;
  /** Records a use of the token at `at` (ISO time). */
  touchApiToken(name: string, at: string): Promise<void>;

  /**
   * An operator forgets a discovered machine (core/forget.ts says which may be): in one
   * transaction its running operation is cancelled, its lease deleted, the row retired (its
   * history stays) and one event written. If its MAC PXE-boots again it is discovered afresh.
   */
  forgetDiscovered(name: string, actor: string, cause: string): Promise<ForgetResult>;
  /** Forgets every discovered machine no operator has accepted (a flood's leftovers), one event each. */
  forgetPendingDiscovered(actor: string, cause: string): Promise<ForgottenMachine[]>;
}

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

export type ForgetResult =
  | ({ ok: true } & ForgottenMachine)
  /** not_found: no live machine of that name; the others say why in `detail`. */
  | { ok: false; reason: 'not_found' | 'inventory' | 'in_use'; detail: string };

export type { LifecycleEvent };
