// The lease table: the authoritative in-memory view of which address belongs to whom, loaded from the
// store at start and written through it (the DHCP server is the only writer of leases). Offers are
// held in memory only: an OFFER promises nothing until the REQUEST (RFC 2131 §4.3.1), and losing a
// hold in a crash only means the client asks again.
import { formatIPv4, parseIPv4, type IPv4Range } from '../core/net.js';
import type { LeaseRecord } from '../core/store/types.js';

interface Hold {
  mac: string;
  expiresAt: number;
}

export class LeaseTable {
  private readonly byMac = new Map<string, LeaseRecord>();
  private readonly byIp = new Map<string, string>();
  private readonly offers = new Map<string, Hold & { ip: string }>();
  private readonly offeredIps = new Map<string, Hold>();
  /** RFC 2131 §4.3.3: a declined address is marked unusable (for one lease time here). */
  private readonly declined = new Map<string, number>();
  private cursor = new Map<string, number>();
  /** MACs of machines outside the inventory: their offers and leases count against a pool's share. */
  private readonly outsiders = new Set<string>();
  /**
   * Each lease as last written to the store (byMac may be ahead of it while a write is on its
   * way, or after one failed): what may still be promised while the store is away.
   */
  private readonly durableByMac = new Map<string, LeaseRecord>();
  private readonly durableByIp = new Map<string, string>();

  load(records: LeaseRecord[]): void {
    for (const r of records) {
      this.set(r);
      this.markDurable(r);
    }
  }

  /** `l` is in the store now; a durable lease another MAC had on its address is not any more. */
  markDurable(l: LeaseRecord): void {
    this.dropDurable(l.mac);
    const other = this.durableByIp.get(l.ip);
    if (other !== undefined) this.durableByMac.delete(other);
    this.durableByMac.set(l.mac, l);
    this.durableByIp.set(l.ip, l.mac);
  }

  durable(mac: string): LeaseRecord | undefined { return this.durableByMac.get(mac); }

  private dropDurable(mac: string): void {
    const d = this.durableByMac.get(mac);
    if (!d) return;
    this.durableByMac.delete(mac);
    if (this.durableByIp.get(d.ip) === mac) this.durableByIp.delete(d.ip);
  }

  get(mac: string): LeaseRecord | undefined { return this.byMac.get(mac); }
  all(): LeaseRecord[] { return [...this.byMac.values()]; }

  set(l: LeaseRecord): void {
    const prev = this.byMac.get(l.mac);
    if (prev && this.byIp.get(prev.ip) === l.mac) this.byIp.delete(prev.ip);
    const other = this.byIp.get(l.ip);
    if (other && other !== l.mac) this.byMac.delete(other);
    this.byMac.set(l.mac, l);
    this.byIp.set(l.ip, l.mac);
  }

  /** The MAC of another client that holds the previous lease on `ip`, to delete before reuse. */
  previousHolder(ip: string, mac: string): string | undefined {
    const other = this.byIp.get(ip);
    return other && other !== mac ? other : undefined;
  }

  hold(mac: string, ip: string, until: number): void {
    this.release(mac);
    this.offers.set(mac, { mac, ip, expiresAt: until });
    this.offeredIps.set(ip, { mac, expiresAt: until });
  }

  offerOf(mac: string, now: number): string | undefined {
    const o = this.offers.get(mac);
    return o && o.expiresAt > now ? o.ip : undefined;
  }

  /** Drops the OFFER hold of `mac` (it chose another server, or its REQUEST was answered). */
  release(mac: string): void {
    const o = this.offers.get(mac);
    if (!o) return;
    this.offers.delete(mac);
    if (this.offeredIps.get(o.ip)?.mac === mac) this.offeredIps.delete(o.ip);
  }

  decline(ip: string, until: number): void {
    this.declined.set(ip, until);
    const mac = this.byIp.get(ip);
    if (mac) { this.byIp.delete(ip); this.byMac.delete(mac); }
    // Whatever the store still says, nobody is told this address again until it is written anew.
    const holder = this.durableByIp.get(ip);
    if (holder !== undefined) this.dropDurable(holder);
    const o = this.offeredIps.get(ip);
    if (o) this.release(o.mac);
  }

  /** Whether `ip` is free for `mac`: not reserved for a machine, not bound/offered/declined to another. */
  isFree(ip: string, mac: string, reserved: ReadonlySet<string>, now: number): boolean {
    if (reserved.has(ip)) return false;
    const d = this.declined.get(ip);
    if (d !== undefined && d > now) return false;
    const o = this.offeredIps.get(ip);
    if (o && o.mac !== mac && o.expiresAt > now) return false;
    const holder = this.byIp.get(ip);
    if (holder && holder !== mac) {
      const l = this.byMac.get(holder)!;
      if (l.state === 'bound' && l.expiresAt > now) return false;
    }
    return true;
  }

  /**
   * An address from `pool` for `mac`: its current lease, then the address it asks for, then the next
   * free one after a rotating cursor — first addresses nobody ever had, then expired or released
   * ones (RFC 2131 §4.3.1 order of preference). undefined when the pool is exhausted.
   */
  allocate(mac: string, poolKey: string, pool: IPv4Range, requested: string | undefined,
    reserved: ReadonlySet<string>, now: number): string | undefined {
    const inPool = (ip: string | undefined) => {
      const n = ip === undefined ? undefined : parseIPv4(ip);
      return n !== undefined && n >= pool.start && n <= pool.end;
    };
    const offered = this.offerOf(mac, now);
    if (offered && inPool(offered) && this.isFree(offered, mac, reserved, now)) return offered;
    const mine = this.byMac.get(mac);
    if (mine && mine.state !== 'declined' && inPool(mine.ip) && this.isFree(mine.ip, mac, reserved, now)) return mine.ip;
    if (requested && inPool(requested) && this.isFree(requested, mac, reserved, now)) return requested;
    const size = pool.end - pool.start + 1;
    const start = this.cursor.get(poolKey) ?? 0;
    for (const neverUsed of [true, false]) {
      for (let i = 0; i < size; i++) {
        const k = (start + i) % size;
        const ip = formatIPv4(pool.start + k);
        if (neverUsed && this.byIp.has(ip)) continue;
        if (this.isFree(ip, mac, reserved, now)) {
          this.cursor.set(poolKey, (k + 1) % size);
          return ip;
        }
      }
    }
    return undefined;
  }

  /** Marks whether `mac` is a machine outside the inventory (discovered), whose share is capped. */
  setOutsider(mac: string, outsider: boolean): void {
    if (outsider) this.outsiders.add(mac);
    else this.outsiders.delete(mac);
  }

  /** Whether `mac` holds an address of `pool` now: an unexpired offer, or an unexpired bound lease. */
  holdsIn(mac: string, pool: IPv4Range, now: number): boolean {
    const inPool = (ip: string) => { const n = parseIPv4(ip)!; return n >= pool.start && n <= pool.end; };
    const o = this.offers.get(mac);
    if (o && o.expiresAt > now && inPool(o.ip)) return true;
    const l = this.byMac.get(mac);
    return !!l && l.state === 'bound' && l.expiresAt > now && this.byIp.get(l.ip) === mac && inPool(l.ip);
  }

  /**
   * Addresses of `pool` held now by machines outside the inventory, offers in memory included.
   * Outsiders that hold nothing any more are forgotten on the way, so the set stays as small as
   * the share it guards.
   */
  outsidersIn(pool: IPv4Range, now: number): number {
    let n = 0;
    for (const mac of this.outsiders) {
      if (this.holdsIn(mac, pool, now)) n++;
      else if (!this.offerOf(mac, now) && !this.bound(mac, now)) this.outsiders.delete(mac);
    }
    return n;
  }

  private bound(mac: string, now: number): boolean {
    const l = this.byMac.get(mac);
    return !!l && l.state === 'bound' && l.expiresAt > now;
  }

  /** An operator forgot the machine behind `mac`: its lease and offer go back to the pool now. */
  forget(mac: string): void {
    this.release(mac);
    const l = this.byMac.get(mac);
    if (l && this.byIp.get(l.ip) === mac) this.byIp.delete(l.ip);
    this.byMac.delete(mac);
    this.outsiders.delete(mac);
    this.dropDurable(mac);
  }

  /** Forgets holds and declines that have run out (called now and then, not per packet). */
  sweep(now: number): void {
    for (const [mac, o] of this.offers) if (o.expiresAt <= now) this.release(mac);
    for (const [ip, until] of this.declined) if (until <= now) this.declined.delete(ip);
  }
}
