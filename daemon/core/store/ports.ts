// The store as the rest of Rackhand sees it, cut into one port per consumer: machines and their
// events, operations and their tokens, DHCP leases, allocations, tenant API tokens, racks and their work. A consumer
// takes the narrowest port it needs, so what a second backend (PostgreSQL) must provide, and what
// each part of the daemon may touch, can be read here; tests/lib/store-conformance/ holds the
// contract every backend must pass. Plain data in, plain data out, every call async; "not found"
// is a normal answer (undefined), never an exception. No port decides a lifecycle rule: what a
// transition does to operations is decided in core and handed in (OperationPlan).
import type { State } from '../lifecycle.js';
import type { StoreAvailabilityView } from './availability.js';
import type {
  AllocateRequest, AllocateResult, AllocationRecord, AllocationState, ApiTokenRecord, BootFacts,
  ClaimRequest, EventQuery, HeartbeatResult, LeaseConflict, RackRecord, WorkRecord, EventRecord, ForgetResult, ForgetVerdict, ForgottenMachine, LeaseRecord, MachineBrief, MachineRecord,
  MachineSpec, NewApiToken, NewEvent, NonceTrade, OperationRecord, SyncChange, TransitionRequest,
  TransitionResult,
} from './records.js';
import type { MachinePage, MachineQuery, RackCount, StateCounts } from './machine-query.js';
import type { NewTraceEntry, TraceEntry } from '../boot-trace.js';

/** Machines, their event history, inventory sync and discovery: what the API, core and sync use. */
export interface MachineStore {
  listMachines(opts?: { includeRetired?: boolean; state?: State; owner?: string }): Promise<MachineRecord[]>;
  /**
   * One page of live machines matching every term of `q` (machine-query.ts says what each means),
   * sorted with ties by name, and how many match in all: the database filters, sorts and counts.
   */
  queryMachines(q: MachineQuery): Promise<MachinePage>;
  /** Live machines per state, by one grouped query; `scopeOwner`: only that owner's (a tenant's scope). */
  countByState(opts?: { scopeOwner?: string }): Promise<StateCounts>;
  /** Live machines per rack and state (rack null: none), by one grouped query. */
  countByRack(): Promise<RackCount[]>;
  /** The machine of that name, retired or not. */
  getMachine(name: string): Promise<MachineRecord | undefined>;
  /** The live machine with that MAC (any case); a retired machine's MAC finds nothing. */
  machineByMac(mac: string): Promise<MachineRecord | undefined>;

  /**
   * Makes the store's machines match the inventory, recording one event per change, in one
   * transaction. A discovered machine holding a MAC the inventory claims is retired first.
   */
  syncInventory(specs: MachineSpec[], actor: string): Promise<SyncChange[]>;
  /**
   * Enrols a machine first seen by discovery (not from the inventory), unaccepted; returns the
   * live machine that already has the MAC if there is one. A retired row of the same name comes
   * back as a fresh discovery (same name and history, nothing else of its past).
   */
  enrolDiscovered(spec: MachineSpec): Promise<MachineRecord>;

  /**
   * One compare-and-set on the state (it must still be `outcome.from`) and its one transition
   * event, in one transaction with the operation plan: the machine's running operation ends as
   * the plan says, and the plan's new operation (if any) starts. A lost compare-and-set writes
   * nothing and returns the machine as it is.
   */
  transition(req: TransitionRequest): Promise<TransitionResult>;
  /** What the boot firmware last told DHCP; not a change of the machine (its version stays). */
  recordBootFacts(name: string, facts: BootFacts): Promise<void>;
  setFacts(name: string, facts: Record<string, unknown>): Promise<void>;

  appendEvent(ev: NewEvent): Promise<EventRecord>;
  /** Events oldest first: the latest `limit` of them, or (afterId, since) forward from a point. */
  listEvents(q?: EventQuery): Promise<EventRecord[]>;
  /** How many events of each kind. */
  countEvents(): Promise<Record<string, number>>;

  /** Discovered machines (live) that no operator has accepted yet. */
  countPendingDiscovered(): Promise<number>;
  /**
   * An operator accepts a discovered machine: it becomes allocatable. `accepted` says whether this
   * call changed it (false: it was accepted already); undefined when no live machine has the name.
   */
  acceptMachine(name: string, actor: string): Promise<{ machine: MachineRecord; accepted: boolean } | undefined>;
  /**
   * An operator forgets a discovered machine: `verdict` (core/forget.ts, the rule) judges the row
   * inside the transaction, as it is when written; if it allows, in that transaction its running
   * operation is cancelled, its lease deleted, the row retired (its history stays) and one event
   * written. If its MAC PXE-boots again it is discovered afresh.
   */
  forgetDiscovered(name: string, actor: string, cause: string, verdict: ForgetVerdict): Promise<ForgetResult>;
  /** Forgets every discovered machine no operator has accepted (a flood's leftovers) that `verdict` allows, one event each. */
  forgetPendingDiscovered(actor: string, cause: string, verdict: ForgetVerdict): Promise<ForgottenMachine[]>;
}

/** Operations (what a transitional state runs), their boot nonces and agent tokens: boot-time routes. */
export interface OperationStore {
  getOperation(id: string): Promise<OperationRecord | undefined>;
  /** The operation whose token this is, whatever its state (the caller judges a stale one). */
  operationByToken(token: string): Promise<OperationRecord | undefined>;
  /** The machine's running operation: at most one runs per machine. */
  activeOperation(machine: string): Promise<OperationRecord | undefined>;
  /** The machine's most recent operation, whatever its state. */
  latestOperation(machine: string): Promise<OperationRecord | undefined>;
  /** The machine's operations, newest first. */
  listOperations(machine: string, limit: number): Promise<OperationRecord[]>;
  /** Ending one (a state other than running) stamps its finish time. */
  updateOperation(id: string, patch: Partial<Pick<OperationRecord, 'state' | 'step' | 'progress' | 'error'>>): Promise<void>;

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
}

/** DHCP leases, and the machine facts the DHCP server reads on every packet: the DHCP server's port. */
export interface LeaseStore {
  getLease(mac: string): Promise<LeaseRecord | undefined>;
  leaseByIp(ip: string): Promise<LeaseRecord | undefined>;
  /** Every lease (in no promised order). */
  listLeases(): Promise<LeaseRecord[]>;
  /**
   * Inserts or replaces the lease of `mac`; durable when the promise resolves. An address has
   * one holder: another MAC's lease of the same address is dropped in the same write if it is
   * over (released, or expired by `lease.updatedAt`); if it is live, this lease is not written and
   * comes back as a conflict (core/store/lease-guard.ts): two daemons never hand out one address.
   */
  putLease(lease: LeaseRecord): Promise<LeaseConflict | undefined>;
  /**
   * Several lease writes in one transaction (one fsync for a burst of ACKs), in order, each as
   * putLease: written all (but the conflicts, returned) or none.
   */
  putLeases(leases: LeaseRecord[]): Promise<LeaseConflict[]>;
  deleteLease(mac: string): Promise<void>;

  /** Every address the inventory reserves for a live machine: the pool never hands these out. */
  reservedIps(): Promise<string[]>;
  /** The live machine with that MAC (any case), as little of it as a DHCP exchange needs. */
  machineBriefByMac(mac: string): Promise<MachineBrief | undefined>;
}

/** Allocations of machines to owners (SPEC §2b). */
export interface AllocationStore {
  /**
   * Allocates machines all or nothing: every transition is a compare-and-set (with its event and
   * operation plan, as MachineStore.transition), and all of them with the allocation row commit
   * in one transaction, or none does (a lost race writes nothing).
   */
  allocate(req: AllocateRequest): Promise<AllocateResult>;
  getAllocation(id: string): Promise<AllocationRecord | undefined>;
  /** Oldest first. */
  listAllocations(opts?: { owner?: string; state?: AllocationState }): Promise<AllocationRecord[]>;
  /** The allocations that include the machine (the owner's only, when given), newest first. */
  allocationsOfMachine(machine: string, owner?: string): Promise<AllocationRecord[]>;
  /** active → released, once: false when it was already released (or does not exist). */
  markAllocationReleased(id: string): Promise<boolean>;
}

/** Tenant API tokens, kept as digests: the API's authentication and the admin's token routes. */
export interface ApiTokenStore {
  /** Refused (throws) when a token of that name or digest exists. */
  createApiToken(rec: NewApiToken): Promise<ApiTokenRecord>;
  /** The token with that digest, revoked and expired ones too: the caller says why it no longer works. */
  apiTokenByDigest(digest: string): Promise<ApiTokenRecord | undefined>;
  /** By name. */
  listApiTokens(opts?: { owner?: string }): Promise<ApiTokenRecord[]>;
  /** Marks the token revoked (once: a second revoke keeps the first time); undefined when there is no token of that name. */
  revokeApiToken(name: string): Promise<ApiTokenRecord | undefined>;
  /** Records a use of the token at `at` (ISO time). */
  touchApiToken(name: string, at: string): Promise<void>;
}

/**
 * Tells readers of the event log that newer events have committed: this daemon's (SQLite, in
 * process) or any daemon's on a shared database (PostgreSQL NOTIFY, with a periodic resync for
 * what a lost connection missed). It carries only the newest event id it knows, never events: a
 * woken reader reads the store, which stays the one source of truth. Implemented in
 * core/event-feed.ts; a store feeds it, the API's long-polls (and streams) wait on it.
 */
export interface EventFeed {
  /** The greatest event id known to have committed (0 before any). */
  newest(): number;
  /**
   * Resolves true once an event with an id above `afterId` is known, false when `timeoutMs`
   * passes, `signal` aborts or the feed closes first. Never rejects.
   */
  waitFor(afterId: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** Calls `listener` with the newest id each time it grows; returns the unsubscribe. */
  subscribe(listener: (newest: number) => void): () => void;
  /** Wakes every waiter (false) and stops listening; later waits answer at once. Idempotent. */
  close(): void;
}

/** Racks heartbeat here, and every daemon reads who is alive (many racks; one row with one daemon). */
export interface RackStore {
  /**
   * Records that `daemon` serves `rack` now. Refused while another daemon holds the rack and was
   * heard from within `silentAfter` seconds: two daemons never serve one rack.
   */
  heartbeat(rack: string, daemon: string, info: Record<string, unknown>, silentAfter: number): Promise<HeartbeatResult>;
  /** Marks a clean stop (only while `daemon` still holds the rack). */
  rackStopped(rack: string, daemon: string): Promise<void>;
  listRacks(): Promise<RackRecord[]>;
}

/**
 * Durable work per machine, claimed by one daemon at a time with a lease (many racks: SELECT …
 * FOR UPDATE SKIP LOCKED). A transition that starts an operation enqueues its `boot` in the same
 * transaction, so no crash can lose it.
 */
export interface WorkStore {
  claimWork(req: ClaimRequest): Promise<WorkRecord[]>;
  /** Extends a claim; false when the daemon no longer holds it (it lapsed and another took it). */
  extendClaim(id: number, daemon: string, leaseSeconds: number): Promise<boolean>;
  /** Records a step while holding the claim; false when the claim was lost. */
  markWorkStep(id: number, daemon: string, step: string): Promise<boolean>;
  finishWork(id: number, daemon: string, outcome: string): Promise<boolean>;
  /**
   * Enqueues a takeover boot for each running operation of `rack`'s machines that `silentDaemon`
   * booted last (the machine talks to it) and that has no open work: once per operation and
   * silent daemon, however many standbys race here or how often. Returns those enqueued.
   */
  enqueueTakeovers(rack: string, silentDaemon: string): Promise<WorkRecord[]>;
  listOpenWork(): Promise<WorkRecord[]>;
  /** How many open work items each rack's live machines have (rack null: none), by one grouped query. */
  openWorkByRack(): Promise<{ rack: string | null; n: number }[]>;
  /** Drops finished work older than `before`; returns how many. */
  pruneWork(before: string): Promise<number>;
}

/**
 * Each machine's boot trace (core/boot-trace.ts): written in batches by the daemon whose DHCP,
 * TFTP and HTTP boot servers saw the steps, read by any daemon's API and dashboard.
 */
export interface BootTraceStore {
  /** Appends entries in one transaction; each machine in the batch keeps only its newest `keep` (pruned in that transaction). */
  appendBootTrace(entries: NewTraceEntry[], keep: number): Promise<void>;
  /** The machine's latest `limit` entries, oldest first (newest last). */
  listBootTrace(machine: string, limit: number): Promise<TraceEntry[]>;
}

/** The whole store, as the daemon's wiring opens it: every port, plus its schema and its end. */
/** A dashboard session as stored: digests only, so a row read from the database opens nothing. */
export interface UiSessionRecord {
  /** sha256 (hex) of the session id the browser's cookie holds. */
  idDigest: string;
  /** sha256 (hex) of the API token that signed in: resolved again on every request. */
  tokenDigest: string;
  csrf: string;
  createdAt: string;
  seenAt: string;
}

/**
 * Dashboard sessions (http/ui/sessions.ts decides expiry): in the store so that a daemon's restart
 * signs nobody out and every daemon of a site knows a session opened on another.
 */
export interface UiSessionStore {
  /** Stores a new session; in the same write, sessions not seen since `staleBefore` and the oldest beyond `max` go. */
  openUiSession(rec: UiSessionRecord, max: number, staleBefore: string): Promise<void>;
  uiSession(idDigest: string): Promise<UiSessionRecord | undefined>;
  touchUiSession(idDigest: string, seenAt: string): Promise<void>;
  closeUiSession(idDigest: string): Promise<void>;
}

export interface Store extends MachineStore, OperationStore, LeaseStore, AllocationStore, ApiTokenStore, RackStore, WorkStore, BootTraceStore, UiSessionStore {
  /** Wakes event readers when events commit; closed with the store. */
  readonly eventFeed: EventFeed;
  /** Applies pending schema migrations; returns the schema version after. */
  migrate(): Promise<number>;
  close(): Promise<void>;
  /** A store on another host (PostgreSQL) may go away while the daemon runs; absent: always there (SQLite). */
  availability?: StoreAvailabilityView;
}
