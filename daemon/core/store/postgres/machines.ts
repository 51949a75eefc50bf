// MachineStore on PostgreSQL: machines, their events, inventory sync and discovery. A machine row
// is never deleted: leaving the inventory or being forgotten retires it, so its history keeps
// meaning. Every write that records an event runs in a transaction holding the event-order lock
// (db.ts), so its event is one with the change, and events become visible in id order.
import { isDeepStrictEqual } from 'node:util';
import { eventFromRow, machineFromRow, type Row } from './rows.js';
import { insertEvent, jsonb, machineIn, now, type Client, type PgDb } from './db.js';
import { writeTransition } from './transition.js';
import { countByRack, countByState, queryMachines } from './machine-query.js';
import { forgetDiscovered, forgetPendingDiscovered } from './forget.js';
import type { MachineStore } from '../ports.js';
import type { EventQuery, EventRecord, MachineRecord, MachineSpec, SyncChange } from '../records.js';

/** Fields of a machine that come from the inventory, compared on every sync. */
const SPEC_FIELDS = ['mac', 'ip', 'hostname', 'profile', 'tags', 'power', 'rack'] as const;

/** Equal as stored: jsonb keeps no key order and drops undefined, so compare what JSON keeps. */
const sameValue = (stored: unknown, wanted: unknown): boolean =>
  isDeepStrictEqual(stored, wanted === undefined ? undefined : JSON.parse(JSON.stringify(wanted)));

export function pgMachineStore(d: PgDb): MachineStore {
  return {
    async listMachines(opts = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (!opts.includeRetired) where.push('retired_at IS NULL');
      if (opts.state) { params.push(opts.state); where.push(`state = $${params.length}`); }
      if (opts.owner) { params.push(opts.owner); where.push(`owner = $${params.length}`); }
      const sql = `SELECT * FROM machines ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY name`;
      return (await d.rows(sql, params)).map(machineFromRow);
    },

    queryMachines(q) {
      return queryMachines(d, q);
    },

    async countByState(opts = {}) {
      return countByState(d, opts.scopeOwner);
    },

    async countByRack() {
      return countByRack(d);
    },

    async getMachine(name) {
      const row = await d.row('SELECT * FROM machines WHERE name = $1', [name]);
      return row && machineFromRow(row);
    },

    async machineByMac(mac) {
      const row = await d.row('SELECT * FROM machines WHERE mac = $1 AND retired_at IS NULL', [mac.toLowerCase()]);
      return row && machineFromRow(row);
    },

    async syncInventory(specs, actor) {
      return d.tx(async (c) => {
        const changes: SyncChange[] = [];
        const wanted = specs.map((s) => s.name);
        const t = now();
        // Retire first, so a machine renamed in the file frees its MAC for its new name.
        const { rows: gone } = await c.query(`UPDATE machines SET retired_at = $1, updated_at = $1, version = version + 1
            WHERE source = 'inventory' AND retired_at IS NULL AND NOT (name = ANY($2::text[])) RETURNING name`, [t, wanted]);
        for (const name of (gone as { name: string }[]).map((r) => r.name).sort()) {
          await insertEvent(c, { machine: name, kind: 'inventory', event: 'retired', cause: 'removed from the inventory', actor });
          changes.push({ name, change: 'retired' });
        }
        for (const spec of specs) {
          const change = await syncOne(c, spec, actor, t);
          if (change) changes.push(change);
        }
        return changes;
      }, { events: true });
    },

    async enrolDiscovered(spec) {
      return d.tx(async (c) => {
        const { rows } = await c.query('SELECT * FROM machines WHERE mac = $1 AND retired_at IS NULL', [spec.mac]);
        if (rows[0]) return machineFromRow(rows[0] as Row);
        const t = now();
        // A retired row of the same name (the machine was forgotten, or left the inventory) comes
        // back as a new discovery: same name and history, nothing else of its past.
        if (await reviveRetired(c, spec, t)) return (await machineIn(c, spec.name))!;
        await c.query(`INSERT INTO machines (name, mac, ip, hostname, profile, tags, power, state, source,
            state_changed_at, created_at, updated_at, accepted, rack) VALUES ($1, $2, $3, $4, $5, $6, $7, 'enrolled', 'discovered', $8, $8, $8, false, $9)`,
        [spec.name, spec.mac, spec.ip, spec.hostname, spec.profile, jsonb(spec.tags), jsonb(spec.power), t, spec.rack ?? null]);
        await insertEvent(c, { machine: spec.name, kind: 'transition', event: 'enrol', to: 'enrolled', cause: 'discovered by PXE', actor: 'system' });
        return (await machineIn(c, spec.name))!;
      }, { events: true });
    },

    async transition(req) {
      return d.tx((c) => writeTransition(c, req), { events: true });
    },

    async recordBootFacts(name, facts) {
      await d.run('UPDATE machines SET boot_facts = $1 WHERE name = $2', [jsonb(facts), name]);
    },

    async setFacts(name, facts) {
      await d.run('UPDATE machines SET facts = $1, updated_at = $2, version = version + 1 WHERE name = $3', [jsonb(facts), now(), name]);
    },

    async appendEvent(ev) {
      return d.tx((c) => insertEvent(c, ev), { events: true });
    },

    async listEvents(q: EventQuery = {}): Promise<EventRecord[]> {
      const where: string[] = [];
      const params: unknown[] = [];
      if (q.machine) { params.push(q.machine); where.push(`machine = $${params.length}`); }
      if (q.since) { params.push(q.since); where.push(`time >= $${params.length}`); }
      if (q.afterId !== undefined) { params.push(q.afterId); where.push(`id > $${params.length}`); }
      const limit = Math.min(Math.max(q.limit ?? 1000, 1), 10000);
      const filter = where.length ? 'WHERE ' + where.join(' AND ') : '';
      // Following (afterId) reads forward; otherwise the latest `limit` events, oldest first.
      const sql = q.afterId !== undefined || q.since
        ? `SELECT * FROM events ${filter} ORDER BY id ASC LIMIT ${limit}`
        : `SELECT * FROM (SELECT * FROM events ${filter} ORDER BY id DESC LIMIT ${limit}) latest ORDER BY id ASC`;
      return (await d.rows(sql, params)).map(eventFromRow);
    },

    async countEvents() {
      const rows = await d.rows('SELECT kind, count(*) AS n FROM events GROUP BY kind');
      return Object.fromEntries(rows.map((r) => [r.kind as string, Number(r.n)]));
    },

    async countPendingDiscovered() {
      const row = await d.row("SELECT count(*) AS n FROM machines WHERE source = 'discovered' AND NOT accepted AND retired_at IS NULL");
      return Number(row!.n);
    },

    async acceptMachine(name, actor) {
      return d.tx(async (c) => {
        const m = await machineIn(c, name, true);
        if (!m || m.retiredAt) return undefined;
        if (m.accepted) return { machine: m, accepted: false };
        const { rows } = await c.query('UPDATE machines SET accepted = true, updated_at = $1, version = version + 1 WHERE name = $2 RETURNING *', [now(), name]);
        await insertEvent(c, { machine: name, kind: 'inventory', event: 'accepted', cause: 'accepted by an operator: allocatable', actor });
        return { machine: machineFromRow(rows[0] as Row), accepted: true };
      }, { events: true });
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
async function syncOne(c: Client, given: MachineSpec, actor: string, t: string): Promise<SyncChange | undefined> {
  const spec = { ...given, rack: given.rack ?? null };
  // The machine of that name and any other live machine holding its MAC, in one round trip.
  const { rows } = await c.query('SELECT * FROM machines WHERE name = $1 OR (mac = $2 AND retired_at IS NULL) FOR UPDATE', [spec.name, spec.mac]);
  const found = (rows as Row[]).map(machineFromRow);
  const existing = found.find((m) => m.name === spec.name);
  const holder = found.find((m) => m.name !== spec.name);
  if (holder) {
    // Only a discovered machine can hold a MAC the inventory now claims: the inventory
    // validator refuses duplicate MACs among inventory machines.
    await c.query('UPDATE machines SET retired_at = $1, updated_at = $1, version = version + 1 WHERE name = $2', [t, holder.name]);
    await insertEvent(c, { machine: holder.name, kind: 'inventory', event: 'retired', cause: `MAC ${spec.mac} now belongs to ${spec.name} in the inventory`, actor });
  }
  const specParams = [spec.name, spec.mac, spec.ip, spec.hostname, spec.profile, jsonb(spec.tags), jsonb(spec.power), t, spec.rack];
  if (!existing) {
    await c.query(`INSERT INTO machines (name, mac, ip, hostname, profile, tags, power, state, source,
        state_changed_at, created_at, updated_at, rack) VALUES ($1, $2, $3, $4, $5, $6, $7, 'enrolled', 'inventory', $8, $8, $8, $9)`, specParams);
    await insertEvent(c, { machine: spec.name, kind: 'transition', event: 'enrol', to: 'enrolled', cause: 'added to the inventory', actor });
    return { name: spec.name, change: 'enrolled' };
  }
  const fields: Record<string, { from: unknown; to: unknown }> = {};
  for (const f of SPEC_FIELDS) {
    if (!sameValue(existing[f], spec[f])) fields[f] = { from: existing[f], to: spec[f] };
  }
  const restored = existing.retiredAt !== null || existing.source !== 'inventory';
  if (!restored && Object.keys(fields).length === 0) return undefined;
  await c.query(`UPDATE machines SET mac = $2, ip = $3, hostname = $4, profile = $5, tags = $6, power = $7, rack = $9,
      source = 'inventory', retired_at = NULL, accepted = true, updated_at = $8, version = version + 1 WHERE name = $1`, specParams);
  const change = restored ? 'restored' : 'updated';
  await insertEvent(c, {
    machine: spec.name, kind: 'inventory', event: change, actor,
    cause: restored ? 'back in the inventory' : `changed: ${Object.keys(fields).join(', ')}`,
    data: Object.keys(fields).length ? { fields } : null,
  });
  return { name: spec.name, change, fields };
}

/** Turns a retired row named `spec.name` into a fresh discovered machine; false when there is none. */
async function reviveRetired(c: Client, spec: MachineSpec, t: string): Promise<boolean> {
  const old: MachineRecord | undefined = await machineIn(c, spec.name, true);
  if (!old) return false;
  if (!old.retiredAt) throw new Error(`cannot enrol ${spec.mac} as ${spec.name}: a live machine with MAC ${old.mac} has that name`);
  await c.query(`UPDATE machines SET mac = $2, ip = $3, hostname = $4, profile = $5, tags = $6, power = $7, rack = $9, state = 'enrolled',
      previous_state = NULL, last_error = NULL, owner = NULL, deploy_profile = NULL, facts = NULL, boot_facts = NULL,
      source = 'discovered', retired_at = NULL, accepted = false, state_changed_at = $8, updated_at = $8, version = version + 1
      WHERE name = $1`, [spec.name, spec.mac, spec.ip, spec.hostname, spec.profile, jsonb(spec.tags), jsonb(spec.power), t, spec.rack ?? null]);
  await insertEvent(c, { machine: spec.name, kind: 'transition', event: 'enrol', to: 'enrolled', cause: `discovered by PXE again (retired ${old.retiredAt})`, actor: 'system' });
  return true;
}
