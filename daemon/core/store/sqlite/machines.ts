// MachineStore on SQLite: machines, their events, inventory sync and discovery. A machine row is
// never deleted: leaving the inventory or being forgotten retires it, so its history keeps meaning.
import { eventFromRow, json, machineFromRow, type Row } from './rows.js';
import { now, type SqliteDb } from './db.js';
import { writeTransition } from './transition.js';
import { countByRack, countByState, queryMachines } from './machine-query.js';
import { forgetDiscovered, forgetPendingDiscovered } from './forget.js';
import type { MachineStore } from '../ports.js';
import type { EventQuery, EventRecord, MachineRecord, MachineSpec, SyncChange } from '../records.js';

/** Fields of a machine that come from the inventory, compared on every sync. */
const SPEC_FIELDS = ['mac', 'ip', 'hostname', 'profile', 'tags', 'power', 'rack'] as const;

export function sqliteMachineStore(d: SqliteDb): MachineStore {
  return {
    async listMachines(opts = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (!opts.includeRetired) where.push('retired_at IS NULL');
      if (opts.state) { where.push('state = ?'); params.push(opts.state); }
      if (opts.owner) { where.push('owner = ?'); params.push(opts.owner); }
      const sql = `SELECT * FROM machines ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY name`;
      return (d.stmt(sql).all(...params) as Row[]).map(machineFromRow);
    },

    async queryMachines(q) {
      return queryMachines(d, q);
    },

    async countByState(opts = {}) {
      return countByState(d, opts.scopeOwner);
    },

    async countByRack() {
      return countByRack(d);
    },

    async getMachine(name) {
      return d.machine(name);
    },

    async machineByMac(mac) {
      const row = d.stmt('SELECT * FROM machines WHERE mac = ? AND retired_at IS NULL').get(mac.toLowerCase()) as Row | undefined;
      return row && machineFromRow(row);
    },

    async syncInventory(specs, actor) {
      return d.write(() => {
        const changes: SyncChange[] = [];
        const wanted = new Set(specs.map((s) => s.name));
        const t = now();
        // Retire first, so a machine renamed in the file frees its MAC for its new name.
        const live = d.stmt("SELECT name FROM machines WHERE source = 'inventory' AND retired_at IS NULL").all() as { name: string }[];
        for (const { name } of live) {
          if (wanted.has(name)) continue;
          d.stmt('UPDATE machines SET retired_at = ?, updated_at = ?, version = version + 1 WHERE name = ?').run(t, t, name);
          d.insertEvent({ machine: name, kind: 'inventory', event: 'retired', cause: 'removed from the inventory', actor });
          changes.push({ name, change: 'retired' });
        }
        for (const spec of specs) {
          const change = syncOne(d, spec, actor, t);
          if (change) changes.push(change);
        }
        return changes;
      });
    },

    async enrolDiscovered(spec) {
      return d.write(() => {
        const existing = d.stmt('SELECT * FROM machines WHERE mac = ? AND retired_at IS NULL').get(spec.mac) as Row | undefined;
        if (existing) return machineFromRow(existing);
        const t = now();
        // A retired row of the same name (the machine was forgotten, or left the inventory) comes
        // back as a new discovery: same name and history, nothing else of its past.
        if (reviveRetired(d, spec, t)) return d.machine(spec.name)!;
        d.stmt(`INSERT INTO machines (name, mac, ip, hostname, profile, tags, power, state, source,
            state_changed_at, created_at, updated_at, accepted, rack) VALUES (?, ?, ?, ?, ?, ?, ?, 'enrolled', 'discovered', ?, ?, ?, 0, ?)`)
          .run(spec.name, spec.mac, spec.ip, spec.hostname, spec.profile, json(spec.tags), json(spec.power), t, t, t, spec.rack ?? null);
        d.insertEvent({ machine: spec.name, kind: 'transition', event: 'enrol', to: 'enrolled', cause: 'discovered by PXE', actor: 'system' });
        return d.machine(spec.name)!;
      });
    },

    async transition(req) {
      return d.commit(() => writeTransition(d, req));
    },

    async recordBootFacts(name, facts) {
      await d.commit(() => d.stmt('UPDATE machines SET boot_facts = ? WHERE name = ?').run(json(facts), name));
    },

    async setFacts(name, facts) {
      const t = now();
      await d.commit(() => d.stmt('UPDATE machines SET facts = ?, updated_at = ?, version = version + 1 WHERE name = ?').run(json(facts), t, name));
    },

    async appendEvent(ev) {
      return d.commit(() => d.insertEvent(ev));
    },

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
      return (d.db.prepare(sql).all(...params) as Row[]).map(eventFromRow);
    },

    async countEvents() {
      const rows = d.stmt('SELECT kind, COUNT(*) AS n FROM events GROUP BY kind').all() as { kind: string; n: number }[];
      return Object.fromEntries(rows.map((r) => [r.kind, r.n]));
    },

    async countPendingDiscovered() {
      return d.stmt("SELECT count(*) FROM machines WHERE source = 'discovered' AND accepted = 0 AND retired_at IS NULL").pluck().get() as number;
    },

    async acceptMachine(name, actor) {
      return d.write(() => {
        const m = d.machine(name);
        if (!m || m.retiredAt) return undefined;
        if (m.accepted) return { machine: m, accepted: false };
        const t = now();
        d.stmt('UPDATE machines SET accepted = 1, updated_at = ?, version = version + 1 WHERE name = ?').run(t, name);
        d.insertEvent({ machine: name, kind: 'inventory', event: 'accepted', cause: 'accepted by an operator: allocatable', actor });
        return { machine: d.machine(name)!, accepted: true };
      });
    },

    async forgetDiscovered(name, actor, cause, verdict) {
      return forgetDiscovered(d, name, actor, cause, verdict);
    },

    async forgetPendingDiscovered(actor, cause, verdict) {
      return forgetPendingDiscovered(d, actor, cause, verdict);
    },
  };
}

/** One inventory machine made to match its spec; the caller holds the transaction. */
function syncOne(d: SqliteDb, given: MachineSpec, actor: string, t: string): SyncChange | undefined {
  const spec = { ...given, rack: given.rack ?? null };
  const existing = d.machine(spec.name);
  const holder = d.stmt('SELECT name, source FROM machines WHERE mac = ? AND retired_at IS NULL AND name != ?')
    .get(spec.mac, spec.name) as { name: string; source: string } | undefined;
  if (holder) {
    // Only a discovered machine can hold a MAC the inventory now claims: the inventory
    // validator refuses duplicate MACs among inventory machines.
    d.stmt('UPDATE machines SET retired_at = ?, updated_at = ?, version = version + 1 WHERE name = ?').run(t, t, holder.name);
    d.insertEvent({ machine: holder.name, kind: 'inventory', event: 'retired', cause: `MAC ${spec.mac} now belongs to ${spec.name} in the inventory`, actor });
  }
  if (!existing) {
    d.stmt(`INSERT INTO machines (name, mac, ip, hostname, profile, tags, power, state, source,
        state_changed_at, created_at, updated_at, rack) VALUES (?, ?, ?, ?, ?, ?, ?, 'enrolled', 'inventory', ?, ?, ?, ?)`)
      .run(spec.name, spec.mac, spec.ip, spec.hostname, spec.profile, json(spec.tags), json(spec.power), t, t, t, spec.rack);
    d.insertEvent({ machine: spec.name, kind: 'transition', event: 'enrol', to: 'enrolled', cause: 'added to the inventory', actor });
    return { name: spec.name, change: 'enrolled' };
  }
  const fields: Record<string, { from: unknown; to: unknown }> = {};
  for (const f of SPEC_FIELDS) {
    if (JSON.stringify(existing[f]) !== JSON.stringify(spec[f])) fields[f] = { from: existing[f], to: spec[f] };
  }
  const restored = existing.retiredAt !== null || existing.source !== 'inventory';
  if (!restored && Object.keys(fields).length === 0) return undefined;
  d.stmt(`UPDATE machines SET mac = ?, ip = ?, hostname = ?, profile = ?, tags = ?, power = ?, rack = ?,
      source = 'inventory', retired_at = NULL, accepted = 1, updated_at = ?, version = version + 1 WHERE name = ?`)
    .run(spec.mac, spec.ip, spec.hostname, spec.profile, json(spec.tags), json(spec.power), spec.rack, t, spec.name);
  const change = restored ? 'restored' : 'updated';
  d.insertEvent({
    machine: spec.name, kind: 'inventory', event: change, actor,
    cause: restored ? 'back in the inventory' : `changed: ${Object.keys(fields).join(', ')}`,
    data: Object.keys(fields).length ? { fields } : null,
  });
  return { name: spec.name, change, fields };
}

/** Turns a retired row named `spec.name` into a fresh discovered machine; false when there is none. */
function reviveRetired(d: SqliteDb, spec: MachineSpec, t: string): boolean {
  const old: MachineRecord | undefined = d.machine(spec.name);
  if (!old) return false;
  if (!old.retiredAt) throw new Error(`cannot enrol ${spec.mac} as ${spec.name}: a live machine with MAC ${old.mac} has that name`);
  d.stmt(`UPDATE machines SET mac = ?, ip = ?, hostname = ?, profile = ?, tags = ?, power = ?, rack = ?, state = 'enrolled',
      previous_state = NULL, last_error = NULL, owner = NULL, deploy_profile = NULL, facts = NULL, boot_facts = NULL,
      source = 'discovered', retired_at = NULL, accepted = 0, state_changed_at = ?, updated_at = ?, version = version + 1
      WHERE name = ?`)
    .run(spec.mac, spec.ip, spec.hostname, spec.profile, json(spec.tags), json(spec.power), spec.rack ?? null, t, t, spec.name);
  d.insertEvent({ machine: spec.name, kind: 'transition', event: 'enrol', to: 'enrolled', cause: `discovered by PXE again (retired ${old.retiredAt})`, actor: 'system' });
  return true;
}
