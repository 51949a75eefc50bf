// LeaseStore on PostgreSQL: DHCP leases, one row per MAC and one holder per address (a UNIQUE
// constraint on ip, so no two writers can ever hold one address), and the two machine reads the
// DHCP server makes per packet, kept to the columns it needs. A lease write is its own
// transaction (or one for a batch), committed before the promise resolves; synchronous_commit is
// left on (the server's default), so a lease is on disk before its ACK leaves.
import { UNIQUE_VIOLATION, type Client, type PgDb } from './db.js';
import { leaseFromRow } from './rows.js';
import type { LeaseStore } from '../ports.js';
import type { LeaseRecord, MachineBrief } from '../records.js';

async function writeLease(c: Client, l: LeaseRecord): Promise<void> {
  // An address moves between MACs only through expiry or release: drop any other holder first.
  await c.query('DELETE FROM leases WHERE ip = $1 AND mac <> $2', [l.ip, l.mac]);
  await c.query(`INSERT INTO leases (mac, ip, state, expires_at, hostname, machine, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (mac) DO UPDATE SET ip = excluded.ip, state = excluded.state, expires_at = excluded.expires_at,
        hostname = excluded.hostname, machine = excluded.machine, updated_at = excluded.updated_at`,
  [l.mac, l.ip, l.state, l.expiresAt, l.hostname, l.machine, l.updatedAt]);
}

export function pgLeaseStore(d: PgDb): LeaseStore {
  // Another connection committing a lease of the same address between our DELETE and our INSERT
  // fails the INSERT on the UNIQUE constraint: the write runs again and drops that holder too.
  const write = (leases: LeaseRecord[]) => d.tx(async (c) => { for (const l of leases) await writeLease(c, l); }, { retryOn: [UNIQUE_VIOLATION] });
  return {
    async getLease(mac) {
      const row = await d.row('SELECT * FROM leases WHERE mac = $1', [mac]);
      return row && leaseFromRow(row);
    },

    async leaseByIp(ip) {
      const row = await d.row('SELECT * FROM leases WHERE ip = $1', [ip]);
      return row && leaseFromRow(row);
    },

    async listLeases() {
      return (await d.rows('SELECT * FROM leases ORDER BY ip')).map(leaseFromRow);
    },

    async putLease(lease) {
      await write([lease]);
    },

    async putLeases(leases) {
      if (leases.length) await write(leases);
    },

    async deleteLease(mac) {
      await d.run('DELETE FROM leases WHERE mac = $1', [mac]);
    },

    async reservedIps() {
      return (await d.rows('SELECT ip FROM machines WHERE ip IS NOT NULL AND retired_at IS NULL')).map((r) => r.ip as string);
    },

    /** Six columns, no JSON: DHCP asks on every packet. */
    async machineBriefByMac(mac) {
      return (await d.row('SELECT name, mac, ip, hostname, state, source FROM machines WHERE mac = $1 AND retired_at IS NULL',
        [mac.toLowerCase()])) as MachineBrief | undefined;
    },
  };
}
