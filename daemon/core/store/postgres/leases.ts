// LeaseStore on PostgreSQL: DHCP leases, one row per MAC and one holder per address (a UNIQUE
// constraint on ip, so no two writers can ever hold one address), and the two machine reads the
// DHCP server makes per packet, kept to the columns it needs. A lease write is its own
// transaction (or one for a batch), committed before the promise resolves; synchronous_commit is
// left on (the server's default), so a lease is on disk before its ACK leaves.
import { UNIQUE_VIOLATION, type Client, type PgDb } from './db.js';
import { leaseFromRow } from './rows.js';
import type { LeaseStore } from '../ports.js';
import type { LeaseConflict, LeaseRecord, MachineBrief } from '../records.js';
import { holderKeeps } from '../lease-guard.js';

async function writeLease(c: Client, l: LeaseRecord): Promise<LeaseConflict | undefined> {
  // An address moves between MACs only through expiry or release: a live holder keeps it (its
  // row locked until the transaction ends, so it cannot be renewed and dropped at once).
  const { rows } = await c.query('SELECT * FROM leases WHERE ip = $1 AND mac <> $2 FOR UPDATE', [l.ip, l.mac]);
  const holder = rows[0] && leaseFromRow(rows[0]);
  if (holder && holderKeeps(holder, l)) return { lease: l, holder };
  if (holder) await c.query('DELETE FROM leases WHERE mac = $1', [holder.mac]);
  await c.query(`INSERT INTO leases (mac, ip, state, expires_at, hostname, machine, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7)
      ON CONFLICT (mac) DO UPDATE SET ip = excluded.ip, state = excluded.state, expires_at = excluded.expires_at,
        hostname = excluded.hostname, machine = excluded.machine, updated_at = excluded.updated_at`,
  [l.mac, l.ip, l.state, l.expiresAt, l.hostname, l.machine, l.updatedAt]);
  return undefined;
}

/**
 * The usual batch in two statements whatever its size (a round trip per statement is what a lease
 * write costs on a busy host): when no other MAC holds any of its addresses (new leases on free
 * addresses, renewals), its rows are upserted at once. Otherwise, or when one MAC or address comes
 * twice, it is written lease by lease, in order, each meeting its address's holder as writeLease
 * does. Returns undefined when it could not take the fast path.
 */
async function writeBatch(c: Client, leases: LeaseRecord[]): Promise<LeaseConflict[] | undefined> {
  const col = <K extends keyof LeaseRecord>(k: K) => leases.map((l) => l[k]);
  if (new Set(col('mac')).size !== leases.length || new Set(col('ip')).size !== leases.length) return undefined;
  const { rows } = await c.query(`SELECT 1 FROM leases l JOIN unnest($1::text[], $2::text[]) AS b(mac, ip)
      ON l.ip = b.ip AND l.mac <> b.mac LIMIT 1`, [col('mac'), col('ip')]);
  if (rows.length) return undefined;
  await c.query(`INSERT INTO leases (mac, ip, state, expires_at, hostname, machine, updated_at)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[])
      ON CONFLICT (mac) DO UPDATE SET ip = excluded.ip, state = excluded.state, expires_at = excluded.expires_at,
        hostname = excluded.hostname, machine = excluded.machine, updated_at = excluded.updated_at`,
  [col('mac'), col('ip'), col('state'), col('expiresAt'), col('hostname'), col('machine'), col('updatedAt')]);
  return [];
}

export function pgLeaseStore(d: PgDb): LeaseStore {
  // Another connection committing a lease of the same address between our SELECT and our INSERT
  // (or a batch's check and its insert) fails the INSERT on the UNIQUE constraint: the write runs
  // again and meets that holder.
  const write = (leases: LeaseRecord[]) => d.tx(async (c) => {
    const fast = leases.length > 1 ? await writeBatch(c, leases) : undefined;
    if (fast) return fast;
    const conflicts: LeaseConflict[] = [];
    for (const l of leases) {
      const conflict = await writeLease(c, l);
      if (conflict) conflicts.push(conflict);
    }
    return conflicts;
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
      return (await write([lease]))[0];
    },

    async putLeases(leases) {
      return leases.length ? write(leases) : [];
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
