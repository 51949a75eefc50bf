// LeaseStore on SQLite: DHCP leases, one row per MAC and one holder per address, and the two
// machine reads DHCP makes per packet, kept to the columns it needs. A lease write is its own
// transaction (or one for a batch), committed before the promise resolves: a lease is durable
// before its ACK leaves.
import { leaseFromRow, type Row } from './rows.js';
import type { SqliteDb } from './db.js';
import type { LeaseStore } from '../ports.js';
import type { LeaseConflict, LeaseRecord, MachineBrief } from '../records.js';
import { holderKeeps } from '../lease-guard.js';

export function sqliteLeaseStore(d: SqliteDb): LeaseStore {
  const writeLease = (l: LeaseRecord): LeaseConflict | undefined => {
    // An address moves between MACs only through expiry or release: a live holder keeps it.
    const held = d.stmt('SELECT * FROM leases WHERE ip = ? AND mac != ?').get(l.ip, l.mac) as Row | undefined;
    const holder = held && leaseFromRow(held);
    if (holder && holderKeeps(holder, l)) return { lease: l, holder };
    if (holder) d.stmt('DELETE FROM leases WHERE mac = ?').run(holder.mac);
    // Positional parameters: binding by name costs ~2 µs more per lease (of ~7) on the DHCP path.
    d.stmt(`INSERT INTO leases (mac, ip, state, expires_at, hostname, machine, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(mac) DO UPDATE SET ip = excluded.ip, state = excluded.state, expires_at = excluded.expires_at,
          hostname = excluded.hostname, machine = excluded.machine, updated_at = excluded.updated_at`)
      .run(l.mac, l.ip, l.state, l.expiresAt, l.hostname, l.machine, l.updatedAt);
    return undefined;
  };
  return {
    async getLease(mac) {
      const row = d.stmt('SELECT * FROM leases WHERE mac = ?').get(mac) as Row | undefined;
      return row && leaseFromRow(row);
    },

    async leaseByIp(ip) {
      const row = d.stmt('SELECT * FROM leases WHERE ip = ?').get(ip) as Row | undefined;
      return row && leaseFromRow(row);
    },

    async listLeases() {
      return (d.stmt('SELECT * FROM leases ORDER BY ip').all() as Row[]).map(leaseFromRow);
    },

    async putLease(lease) {
      return d.write(() => writeLease(lease));
    },

    async putLeases(leases) {
      return d.write(() => leases.flatMap((l) => writeLease(l) ?? []));
    },

    async deleteLease(mac) {
      d.stmt('DELETE FROM leases WHERE mac = ?').run(mac);
    },

    /** One indexed column (about 1 ms for 5,000 machines, where listMachines() takes 60 ms). */
    async reservedIps() {
      return d.stmt('SELECT ip FROM machines WHERE ip IS NOT NULL AND retired_at IS NULL').pluck().all() as string[];
    },

    /** Six columns, no JSON parsed: DHCP asks on every packet, and a whole row costs about 50 µs. */
    async machineBriefByMac(mac) {
      return d.stmt('SELECT name, mac, ip, hostname, state, source FROM machines WHERE mac = ? AND retired_at IS NULL')
        .get(mac.toLowerCase()) as MachineBrief | undefined;
    },
  };
}
