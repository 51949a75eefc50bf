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

/**
 * A batch in two statements whatever its size (a round trip per statement is what a lease write
 * costs on a busy host): the other holders of its addresses go, then every row is upserted. Only
 * for batches whose addresses are all different; one address twice (moving between MACs within
 * the batch) is written lease by lease, in order, so the later holder wins.
 */
async function writeBatch(c: Client, leases: LeaseRecord[]): Promise<void> {
  const col = <K extends keyof LeaseRecord>(k: K) => leases.map((l) => l[k]);
  await c.query(`DELETE FROM leases l USING unnest($1::text[], $2::text[]) AS b(mac, ip)
      WHERE l.ip = b.ip AND l.mac <> b.mac`, [col('mac'), col('ip')]);
  await c.query(`INSERT INTO leases (mac, ip, state, expires_at, hostname, machine, updated_at)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[])
      ON CONFLICT (mac) DO UPDATE SET ip = excluded.ip, state = excluded.state, expires_at = excluded.expires_at,
        hostname = excluded.hostname, machine = excluded.machine, updated_at = excluded.updated_at`,
  [col('mac'), col('ip'), col('state'), col('expiresAt'), col('hostname'), col('machine'), col('updatedAt')]);
}

export function pgLeaseStore(d: PgDb): LeaseStore {
  // Another connection committing a lease of the same address between our DELETE and our INSERT
  // fails the INSERT on the UNIQUE constraint: the write runs again and drops that holder too.
  const write = (leases: LeaseRecord[]) => d.tx(async (c) => {
    const macs = new Set(leases.map((l) => l.mac));
    const ips = new Set(leases.map((l) => l.ip));
    if (leases.length > 1 && macs.size === leases.length && ips.size === leases.length) await writeBatch(c, leases);
    else for (const l of leases) await writeLease(c, l);
  }, { retryOn: [UNIQUE_VIOLATION] });
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
