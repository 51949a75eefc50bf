// The SQLite store: one file in the state directory, WAL journal (readers never block the writer,
// and a process killed at any instant leaves the last committed transaction intact), foreign
// keys on, a busy timeout so two processes on one file wait rather than fail.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from './migrations.js';
import { machineFromRow, eventFromRow, leaseFromRow, operationFromRow, allocationFromRow, apiTokenFromRow, json, type Row } from './rows.js';
import type {
  AllocateRequest, AllocateResult, AllocationRecord, AllocationState, ApiTokenRecord,
  BootFacts, EventQuery, EventRecord, LeaseRecord, MachineBrief, MachineRecord, MachineSpec, NewEvent,
  NonceTrade, OperationPlan, OperationRecord, Store, SyncChange, TransitionRequest, TransitionResult,
} from './types.js';
import type { NewApiToken } from './types.js';
import type { ForgetResult, ForgottenMachine } from './types.js';
import { forgetRefusal } from '../forget.js';
import type { State } from '../lifecycle.js';

const now = () => new Date().toISOString();

/** Fields of a machine that come from the inventory, compared on every sync. */
const SPEC_FIELDS = ['mac', 'ip', 'hostname', 'profile', 'tags', 'power'] as const;

export interface SqliteOptions {
  /** `normal` survives a process crash; `full` also survives power loss, at an fsync per commit. */
  synchronous?: 'normal' | 'full';
}

export async function openSqliteStore(file: string, opts: SqliteOptions = {}): Promise<SqliteStore> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const store = new SqliteStore(new Database(file), opts);
  await store.migrate();
  return store;
}

export class SqliteStore implements Store {
  constructor(readonly db: Database.Database, opts: SqliteOptions = {}) {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous ?? 'normal'}`);
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
  }

  /** Prepared statements by SQL text: preparing costs more than running on the DHCP hot path. */
  private readonly statements = new Map<string, Database.Statement>();
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) { st = this.db.prepare(sql); this.statements.set(sql, st); }
    return st;
  }

  async migrate(): Promise<number> {
    const current = () => this.db.pragma('user_version', { simple: true }) as number;
    for (const m of MIGRATIONS) {
      this.db.transaction(() => {
        // Re-read inside the write lock: another process may have migrated meanwhile.
        if (current() >= m.version) return;
        this.db.exec(m.sql);
        this.db.pragma(`user_version = ${m.version}`);
      }).immediate();
    }
    return current();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async listMachines(opts: { includeRetired?: boolean; state?: State; owner?: string } = {}): Promise<MachineRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (!opts.includeRetired) where.push('retired_at IS NULL');
    if (opts.state) { where.push('state = ?'); params.push(opts.state); }
    if (opts.owner) { where.push('owner = ?'); params.push(opts.owner); }
    const sql = `SELECT * FROM machines ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY name`;
    return (this.db.prepare(sql).all(...params) as Row[]).map(machineFromRow);
  }

  async getMachine(name: string): Promise<MachineRecord | undefined> {
    return this.machineSync(name);
  }

  private machineSync(name: string): MachineRecord | undefined {
    const row = this.stmt('SELECT * FROM machines WHERE name = ?').get(name) as Row | undefined;
    return row && machineFromRow(row);
  }

  async machineByMac(mac: string): Promise<MachineRecord | undefined> {
    const row = this.stmt('SELECT * FROM machines WHERE mac = ? AND retired_at IS NULL').get(mac.toLowerCase()) as Row | undefined;
    return row && machineFromRow(row);
  }

  /**
   * Six columns by one cached statement: DHCP asks for every packet, and parsing the whole row
   * (machineByMac) costs about 50 µs.
   */
  async machineBriefByMac(mac: string): Promise<MachineBrief | undefined> {
    return this.stmt('SELECT name, mac, ip, hostname, state, source FROM machines WHERE mac = ? AND retired_at IS NULL')
      .get(mac.toLowerCase()) as MachineBrief | undefined;
  }

  /** One indexed column (about 1 ms for 5,000 machines, where listMachines() takes 60 ms). */
  async reservedIps(): Promise<string[]> {
    return this.stmt('SELECT ip FROM machines WHERE ip IS NOT NULL AND retired_at IS NULL').pluck().all() as string[];
  }

  async syncInventory(specs: MachineSpec[], actor: string): Promise<SyncChange[]> {
    return this.db.transaction(() => {
      const changes: SyncChange[] = [];
      const wanted = new Set(specs.map((s) => s.name));
      const t = now();
      // Retire first, so a machine renamed in the file frees its MAC for its new name.
      const live = this.stmt("SELECT name FROM machines WHERE source = 'inventory' AND retired_at IS NULL").all() as { name: string }[];
      for (const { name } of live) {
        if (wanted.has(name)) continue;
        this.stmt('UPDATE machines SET retired_at = ?, updated_at = ?, version = version + 1 WHERE name = ?').run(t, t, name);
        this.insertEvent({ machine: name, kind: 'inventory', event: 'retired', cause: 'removed from the inventory', actor });
        changes.push({ name, change: 'retired' });
      }
      for (const spec of specs) {
        const change = this.syncOne(spec, actor, t);
        if (change) changes.push(change);
      }
      return changes;
    }).immediate();
  }

  private syncOne(spec: MachineSpec, actor: string, t: string): SyncChange | undefined {
    const existing = this.machineSync(spec.name);
    const holder = this.stmt('SELECT name, source FROM machines WHERE mac = ? AND retired_at IS NULL AND name != ?')
      .get(spec.mac, spec.name) as { name: string; source: string } | undefined;
    if (holder) {
      // Only a discovered machine can hold a MAC the inventory now claims: the inventory
      // validator refuses duplicate MACs among inventory machines.
      this.stmt('UPDATE machines SET retired_at = ?, updated_at = ?, version = version + 1 WHERE name = ?').run(t, t, holder.name);
      this.insertEvent({ machine: holder.name, kind: 'inventory', event: 'retired', cause: `MAC ${spec.mac} now belongs to ${spec.name} in the inventory`, actor });
    }
    if (!existing) {
      this.stmt(`INSERT INTO machines (name, mac, ip, hostname, profile, tags, power, state, source,
          state_changed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'enrolled', 'inventory', ?, ?, ?)`)
        .run(spec.name, spec.mac, spec.ip, spec.hostname, spec.profile, json(spec.tags), json(spec.power), t, t, t);
      this.insertEvent({ machine: spec.name, kind: 'transition', event: 'enrol', to: 'enrolled', cause: 'added to the inventory', actor });
      return { name: spec.name, change: 'enrolled' };
    }
    const fields: Record<string, { from: unknown; to: unknown }> = {};
    for (const f of SPEC_FIELDS) {
      if (JSON.stringify(existing[f]) !== JSON.stringify(spec[f])) fields[f] = { from: existing[f], to: spec[f] };
    }
    const restored = existing.retiredAt !== null || existing.source !== 'inventory';
    if (!restored && Object.keys(fields).length === 0) return undefined;
    this.stmt(`UPDATE machines SET mac = ?, ip = ?, hostname = ?, profile = ?, tags = ?, power = ?,
        source = 'inventory', retired_at = NULL, accepted = 1, updated_at = ?, version = version + 1 WHERE name = ?`)
      .run(spec.mac, spec.ip, spec.hostname, spec.profile, json(spec.tags), json(spec.power), t, spec.name);
    const change = restored ? 'restored' : 'updated';
    this.insertEvent({
      machine: spec.name, kind: 'inventory', event: change, actor,
      cause: restored ? 'back in the inventory' : `changed: ${Object.keys(fields).join(', ')}`,
      data: Object.keys(fields).length ? { fields } : null,
    });
    return { name: spec.name, change, fields };
  }

  async enrolDiscovered(spec: MachineSpec): Promise<MachineRecord> {
    return this.db.transaction(() => {
      const existing = this.stmt('SELECT * FROM machines WHERE mac = ? AND retired_at IS NULL').get(spec.mac) as Row | undefined;
      if (existing) return machineFromRow(existing);
      const t = now();
      // A retired row of the same name (the machine was forgotten, or left the inventory) comes
      // back as a new discovery: same name and history, nothing else of its past.
      if (this.reviveRetired(spec, t)) return this.machineSync(spec.name)!;
      this.stmt(`INSERT INTO machines (name, mac, ip, hostname, profile, tags, power, state, source,
          state_changed_at, created_at, updated_at, accepted) VALUES (?, ?, ?, ?, ?, ?, ?, 'enrolled', 'discovered', ?, ?, ?, 0)`)
        .run(spec.name, spec.mac, spec.ip, spec.hostname, spec.profile, json(spec.tags), json(spec.power), t, t, t);
      this.insertEvent({ machine: spec.name, kind: 'transition', event: 'enrol', to: 'enrolled', cause: 'discovered by PXE', actor: 'system' });
      return this.machineSync(spec.name)!;
    }).immediate();
  }

  async transition(req: TransitionRequest): Promise<TransitionResult> {
    return this.db.transaction(() => this.transitionSync(req)).immediate();
  }

  /** The compare-and-set itself; the caller holds the transaction. */
  private transitionSync(req: TransitionRequest): TransitionResult {
    const { outcome } = req;
    const t = now();
    const setProfile = req.deployProfile !== undefined;
    const result = this.stmt(`UPDATE machines SET state = ?, previous_state = ?, last_error = ?, owner = ?,
        ${setProfile ? 'deploy_profile = ?,' : ''} state_changed_at = ?, updated_at = ?, version = version + 1
        WHERE name = ? AND state = ?`)
      .run(outcome.to, outcome.previousState, outcome.lastError, outcome.owner,
        ...(setProfile ? [req.deployProfile ?? null] : []), t, t, req.machine, outcome.from);
    if (result.changes !== 1) return { ok: false, current: this.machineSync(req.machine) };
    const operation = this.applyOperationPlan(req.machine, req.operations, t);
    const event = this.insertEvent({
      machine: req.machine, kind: 'transition', event: outcome.event, from: outcome.from, to: outcome.to,
      cause: req.cause ?? outcome.lastError, actor: req.actor, data: req.data ?? null,
    });
    return { ok: true, machine: this.machineSync(req.machine)!, event, operation };
  }

  async allocate(req: AllocateRequest): Promise<AllocateResult> {
    // Rolling back is done by throwing out of the transaction: better-sqlite3 then undoes every
    // compare-and-set already applied, so a lost race leaves no trace.
    class Lost extends Error { constructor(readonly machine: string) { super(machine); } }
    try {
      return this.db.transaction((): AllocateResult => {
        const machines: MachineRecord[] = [];
        for (const tr of req.transitions) {
          const r = this.transitionSync(tr);
          if (!r.ok) throw new Lost(tr.machine);
          machines.push(r.machine);
        }
        const a = req.allocation;
        this.stmt(`INSERT INTO allocations (id, owner, profile, constraints, machines, state, actor, created_at)
            VALUES (?, ?, ?, ?, ?, 'active', ?, ?)`)
          .run(a.id, a.owner, a.profile, json(a.constraints), json(a.machines), a.actor, now());
        return { ok: true, allocation: this.allocationSync(a.id)!, machines };
      }).immediate();
    } catch (err) {
      if (err instanceof Lost) return { ok: false, lost: err.machine };
      throw err;
    }
  }

  private allocationSync(id: string): AllocationRecord | undefined {
    const row = this.stmt('SELECT * FROM allocations WHERE id = ?').get(id) as Row | undefined;
    return row && allocationFromRow(row);
  }

  async getAllocation(id: string): Promise<AllocationRecord | undefined> {
    return this.allocationSync(id);
  }

  async listAllocations(opts: { owner?: string; state?: AllocationState } = {}): Promise<AllocationRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.owner !== undefined) { where.push('owner = ?'); params.push(opts.owner); }
    if (opts.state) { where.push('state = ?'); params.push(opts.state); }
    const sql = `SELECT * FROM allocations ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at, id`;
    return (this.stmt(sql).all(...params) as Row[]).map(allocationFromRow);
  }

  async allocationsOfMachine(machine: string, owner?: string): Promise<AllocationRecord[]> {
    const rows = this.stmt(`SELECT * FROM allocations WHERE EXISTS (SELECT 1 FROM json_each(allocations.machines) WHERE value = ?)
        AND (? IS NULL OR owner = ?) ORDER BY created_at DESC, id DESC`).all(machine, owner ?? null, owner ?? null) as Row[];
    return rows.map(allocationFromRow);
  }

  async markAllocationReleased(id: string): Promise<boolean> {
    const t = now();
    return this.stmt("UPDATE allocations SET state = 'released', released_at = ? WHERE id = ? AND state = 'active'").run(t, id).changes === 1;
  }

  async createApiToken(rec: NewApiToken): Promise<ApiTokenRecord> {
    this.stmt('INSERT INTO api_tokens (name, owner, digest, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(rec.name, rec.owner, rec.digest, rec.createdBy, now(), rec.expiresAt ?? null);
    return apiTokenFromRow(this.stmt('SELECT * FROM api_tokens WHERE name = ?').get(rec.name) as Row);
  }

  async apiTokenByDigest(digest: string): Promise<ApiTokenRecord | undefined> {
    const row = this.stmt('SELECT * FROM api_tokens WHERE digest = ?').get(digest) as Row | undefined;
    return row && apiTokenFromRow(row);
  }

  async listApiTokens(opts: { owner?: string } = {}): Promise<ApiTokenRecord[]> {
    const rows = opts.owner === undefined
      ? this.stmt('SELECT * FROM api_tokens ORDER BY name').all()
      : this.stmt('SELECT * FROM api_tokens WHERE owner = ? ORDER BY name').all(opts.owner);
    return (rows as Row[]).map(apiTokenFromRow);
  }

  /** Applies the transition's operation plan; the caller holds the transaction. */
  private applyOperationPlan(machine: string, plan: OperationPlan, t: string): OperationRecord | undefined {
    this.stmt(`UPDATE operations SET state = ?, finished_at = ?, error = ? WHERE machine = ? AND state = 'running'`)
      .run(plan.endRunning.state, t, plan.endRunning.error, machine);
    if (!plan.start) return undefined;
    this.stmt(`INSERT INTO operations (id, machine, kind, token, state, created_at) VALUES (?, ?, ?, ?, 'running', ?)`)
      .run(plan.start.id, machine, plan.start.kind, plan.start.token, t);
    return operationFromRow(this.stmt('SELECT * FROM operations WHERE id = ?').get(plan.start.id) as Row);
  }

  async recordBootFacts(name: string, facts: BootFacts): Promise<void> {
    this.stmt('UPDATE machines SET boot_facts = ? WHERE name = ?').run(json(facts), name);
  }

  async setFacts(name: string, facts: Record<string, unknown>): Promise<void> {
    this.stmt('UPDATE machines SET facts = ?, updated_at = ?, version = version + 1 WHERE name = ?').run(json(facts), now(), name);
  }

  async appendEvent(ev: NewEvent): Promise<EventRecord> {
    return this.insertEvent(ev);
  }

  private insertEvent(ev: NewEvent & { from?: State | null; to?: State | null }): EventRecord {
    const info = this.stmt(`INSERT INTO events (time, machine, kind, event, from_state, to_state, cause, actor, data)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(now(), ev.machine, ev.kind, ev.event ?? null, ev.from ?? null, ev.to ?? null, ev.cause ?? null, ev.actor,
        ev.data ? json(ev.data) : null);
    return eventFromRow(this.stmt('SELECT * FROM events WHERE id = ?').get(info.lastInsertRowid) as Row);
  }

  async listEvents(q: EventQuery = {}): Promise<EventRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.machine) { where.push('machine = ?'); params.push(q.machine); }
    if (q.since) { where.push('time >= ?'); params.push(q.since); }
    if (q.afterId !== undefined) { where.push('id > ?'); params.push(q.afterId); }
    const limit = Math.min(Math.max(q.limit ?? 1000, 1), 10000);
    const filter = where.length ? 'WHERE ' + where.join(' AND ') : '';
    // Following (afterId) reads forward; otherwise the latest `limit` events, oldest first.
    const sql = q.afterId !== undefined || q.since
      ? `SELECT * FROM events ${filter} ORDER BY id ASC LIMIT ${limit}`
      : `SELECT * FROM (SELECT * FROM events ${filter} ORDER BY id DESC LIMIT ${limit}) ORDER BY id ASC`;
    return (this.db.prepare(sql).all(...params) as Row[]).map(eventFromRow);
  }

  async countEvents(): Promise<Record<string, number>> {
    const rows = this.stmt('SELECT kind, COUNT(*) AS n FROM events GROUP BY kind').all() as { kind: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.kind, r.n]));
  }

  async getLease(mac: string): Promise<LeaseRecord | undefined> {
    const row = this.stmt('SELECT * FROM leases WHERE mac = ?').get(mac) as Row | undefined;
    return row && leaseFromRow(row);
  }

  async leaseByIp(ip: string): Promise<LeaseRecord | undefined> {
    const row = this.stmt('SELECT * FROM leases WHERE ip = ?').get(ip) as Row | undefined;
    return row && leaseFromRow(row);
  }

  async listLeases(): Promise<LeaseRecord[]> {
    return (this.stmt('SELECT * FROM leases ORDER BY ip').all() as Row[]).map(leaseFromRow);
  }

  private writeLease(l: LeaseRecord): void {
    // An address moves between MACs only through expiry or release: drop any other holder first.
    this.stmt('DELETE FROM leases WHERE ip = ? AND mac != ?').run(l.ip, l.mac);
    this.stmt(`INSERT INTO leases (mac, ip, state, expires_at, hostname, machine, updated_at)
        VALUES (@mac, @ip, @state, @expiresAt, @hostname, @machine, @updatedAt)
        ON CONFLICT(mac) DO UPDATE SET ip = excluded.ip, state = excluded.state, expires_at = excluded.expires_at,
          hostname = excluded.hostname, machine = excluded.machine, updated_at = excluded.updated_at`).run(l);
  }

  async putLease(lease: LeaseRecord): Promise<void> {
    this.db.transaction(() => this.writeLease(lease)).immediate();
  }

  async putLeases(leases: LeaseRecord[]): Promise<void> {
    this.db.transaction(() => { for (const l of leases) this.writeLease(l); }).immediate();
  }

  async deleteLease(mac: string): Promise<void> {
    this.stmt('DELETE FROM leases WHERE mac = ?').run(mac);
  }

  async getOperation(id: string): Promise<OperationRecord | undefined> {
    const row = this.stmt('SELECT * FROM operations WHERE id = ?').get(id) as Row | undefined;
    return row && operationFromRow(row);
  }

  async operationByToken(token: string): Promise<OperationRecord | undefined> {
    const row = this.stmt('SELECT * FROM operations WHERE token = ?').get(token) as Row | undefined;
    return row && operationFromRow(row);
  }

  async activeOperation(machine: string): Promise<OperationRecord | undefined> {
    const row = this.stmt("SELECT * FROM operations WHERE machine = ? AND state = 'running' ORDER BY created_at DESC LIMIT 1")
      .get(machine) as Row | undefined;
    return row && operationFromRow(row);
  }

  async latestOperation(machine: string): Promise<OperationRecord | undefined> {
    return (await this.listOperations(machine, 1))[0];
  }

  async listOperations(machine: string, limit: number): Promise<OperationRecord[]> {
    return (this.stmt('SELECT * FROM operations WHERE machine = ? ORDER BY created_at DESC, rowid DESC LIMIT ?')
      .all(machine, limit) as Row[]).map(operationFromRow);
  }

  async updateOperation(id: string, patch: Partial<Pick<OperationRecord, 'state' | 'step' | 'progress' | 'error'>>): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    if (patch.state !== undefined) {
      sets.push('state = ?'); params.push(patch.state);
      if (patch.state !== 'running') { sets.push('finished_at = ?'); params.push(now()); }
    }
    if (patch.step !== undefined) { sets.push('step = ?'); params.push(patch.step); }
    if (patch.progress !== undefined) { sets.push('progress = ?'); params.push(json(patch.progress)); }
    if (patch.error !== undefined) { sets.push('error = ?'); params.push(patch.error); }
    if (sets.length) this.db.prepare(`UPDATE operations SET ${sets.join(', ')} WHERE id = ?`).run(...params, id);
  }

  async setBootNonce(operationId: string, digest: string, expiresAt: string): Promise<void> {
    this.stmt(`UPDATE operations SET nonce_digest = ?, nonce_expires_at = ?, nonce_traded_at = NULL
        WHERE id = ? AND state = 'running'`).run(digest, expiresAt, operationId);
  }

  async tradeBootNonce(digest: string, agentDigest: string, t: string): Promise<NonceTrade> {
    return this.db.transaction((): NonceTrade => {
      const row = this.stmt('SELECT * FROM operations WHERE nonce_digest = ?').get(digest) as Row | undefined;
      if (!row) return { ok: false, why: 'unknown' };
      const operation = operationFromRow(row);
      if (row.nonce_traded_at) return { ok: false, why: 'traded', operation };
      if (operation.state !== 'running') return { ok: false, why: 'ended', operation };
      if (String(row.nonce_expires_at) <= t) return { ok: false, why: 'expired', operation };
      this.stmt('UPDATE operations SET nonce_traded_at = ?, agent_digest = ? WHERE id = ?').run(t, agentDigest, operation.id);
      return { ok: true, operation };
    }).immediate();
  }

  async operationByNonceDigest(digest: string): Promise<OperationRecord | undefined> {
    const row = this.stmt('SELECT * FROM operations WHERE nonce_digest = ?').get(digest) as Row | undefined;
    return row && operationFromRow(row);
  }

  async operationByAgentDigest(digest: string): Promise<OperationRecord | undefined> {
    const row = this.stmt('SELECT * FROM operations WHERE agent_digest = ?').get(digest) as Row | undefined;
    return row && operationFromRow(row);
  }

  async countPendingDiscovered(): Promise<number> {
    return this.stmt("SELECT count(*) FROM machines WHERE source = 'discovered' AND accepted = 0 AND retired_at IS NULL").pluck().get() as number;
  }

  async acceptMachine(name: string, actor: string): Promise<{ machine: MachineRecord; accepted: boolean } | undefined> {
    return this.db.transaction(() => {
      const m = this.machineSync(name);
      if (!m || m.retiredAt) return undefined;
      if (m.accepted) return { machine: m, accepted: false };
      const t = now();
      this.stmt('UPDATE machines SET accepted = 1, updated_at = ?, version = version + 1 WHERE name = ?').run(t, name);
      this.insertEvent({ machine: name, kind: 'inventory', event: 'accepted', cause: 'accepted by an operator: allocatable', actor });
      return { machine: this.machineSync(name)!, accepted: true };
    }).immediate();
  }

  async revokeApiToken(name: string): Promise<ApiTokenRecord | undefined> {
    this.stmt('UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(now(), name);
    const row = this.stmt('SELECT * FROM api_tokens WHERE name = ?').get(name) as Row | undefined;
    return row && apiTokenFromRow(row);
  }

  async touchApiToken(name: string, at: string): Promise<void> {
    this.stmt('UPDATE api_tokens SET last_used_at = ? WHERE name = ?').run(at, name);
  }

  async forgetDiscovered(name: string, actor: string, cause: string): Promise<ForgetResult> {
    return this.db.transaction(() => this.forgetSync(name, actor, cause)).immediate();
  }

  async forgetPendingDiscovered(actor: string, cause: string): Promise<ForgottenMachine[]> {
    return this.db.transaction(() => {
      const names = this.stmt("SELECT name FROM machines WHERE source = 'discovered' AND accepted = 0 AND retired_at IS NULL ORDER BY name")
        .pluck().all() as string[];
      const out: ForgottenMachine[] = [];
      for (const name of names) {
        const r = this.forgetSync(name, actor, cause);
        if (r.ok) out.push({ machine: r.machine, freedLease: r.freedLease, cancelledOperation: r.cancelledOperation });
      }
      return out;
    }).immediate();
  }

  /** The caller holds the transaction. */
  private forgetSync(name: string, actor: string, cause: string): ForgetResult {
    const m = this.machineSync(name);
    if (!m || m.retiredAt) return { ok: false, reason: 'not_found', detail: `no machine named ${name}` };
    const refusal = forgetRefusal(m);
    if (refusal) return { ok: false, ...refusal };
    const t = now();
    const op = this.stmt("SELECT id FROM operations WHERE machine = ? AND state = 'running'").pluck().get(name) as string | undefined;
    // Its tokens die with the operation: an agent still holding one is refused from now on.
    this.stmt("UPDATE operations SET state = 'cancelled', finished_at = ?, error = ? WHERE machine = ? AND state = 'running'")
      .run(t, 'the machine was forgotten by an operator', name);
    const lease = this.stmt('SELECT ip FROM leases WHERE mac = ?').pluck().get(m.mac) as string | undefined;
    this.stmt('DELETE FROM leases WHERE mac = ?').run(m.mac);
    // Back to enrolled, so no timeout sweep moves the retired row later; the event keeps what it was.
    this.stmt(`UPDATE machines SET retired_at = ?, state = 'enrolled', previous_state = ?, state_changed_at = ?, updated_at = ?,
        version = version + 1 WHERE name = ?`).run(t, m.state, t, t, name);
    this.insertEvent({
      machine: name, kind: 'inventory', event: 'forgotten', cause, actor,
      data: { mac: m.mac, state: m.state, accepted: m.accepted, freed_lease: lease ?? null, cancelled_operation: op ?? null },
    });
    return { ok: true, machine: this.machineSync(name)!, freedLease: lease ?? null, cancelledOperation: op ?? null };
  }

  /** Turns a retired row named `spec.name` into a fresh discovered machine; false when there is none. */
  private reviveRetired(spec: MachineSpec, t: string): boolean {
    const old = this.machineSync(spec.name);
    if (!old) return false;
    if (!old.retiredAt) throw new Error(`cannot enrol ${spec.mac} as ${spec.name}: a live machine with MAC ${old.mac} has that name`);
    this.stmt(`UPDATE machines SET mac = ?, ip = ?, hostname = ?, profile = ?, tags = ?, power = ?, state = 'enrolled',
        previous_state = NULL, last_error = NULL, owner = NULL, deploy_profile = NULL, facts = NULL, boot_facts = NULL,
        source = 'discovered', retired_at = NULL, accepted = 0, state_changed_at = ?, updated_at = ?, version = version + 1
        WHERE name = ?`)
      .run(spec.mac, spec.ip, spec.hostname, spec.profile, json(spec.tags), json(spec.power), t, t, spec.name);
    this.insertEvent({ machine: spec.name, kind: 'transition', event: 'enrol', to: 'enrolled', cause: `discovered by PXE again (retired ${old.retiredAt})`, actor: 'system' });
    return true;
  }
}
