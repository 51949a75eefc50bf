// TFTP counters on the daemon's prom-client registry, mirrored in a plain snapshot (stats())
// for tests and the child-process harness. Registering on a registry that already has them
// (two servers, or a restart in one process) reuses the existing metrics.

import { Counter, Gauge, type Registry } from 'prom-client';

export interface TftpStats {
  active: number;
  transfers: Record<string, number>;
  drops: Record<string, number>;
  bytesSent: number;
  retransmissions: number;
  /** Windows the kernel took only part of (socket buffer full: EAGAIN/ENOBUFS); the rest went later. */
  shortSends: number;
}

export interface TftpMetrics {
  transfer(result: string): void;
  drop(reason: string): void;
  bytesSent(n: number): void;
  retransmissions(n: number): void;
  shortSends(n: number): void;
  setActive(n: number): void;
  snapshot(): TftpStats;
}

function reuse<T>(registry: Registry | undefined, name: string, make: () => T): T {
  const existing = registry?.getSingleMetric(name);
  return existing ? (existing as unknown as T) : make();
}

export function tftpMetrics(registry?: Registry): TftpMetrics {
  const registers = registry ? [registry] : [];
  const transfers = reuse(registry, 'rackhand_tftp_transfers_total', () => new Counter({
    name: 'rackhand_tftp_transfers_total', help: 'TFTP read requests handled, by result', labelNames: ['result'], registers,
  }));
  const drops = reuse(registry, 'rackhand_tftp_drops_total', () => new Counter({
    name: 'rackhand_tftp_drops_total',
    help: 'TFTP packets not served: malformed, unexpected or refused before a transfer (some answered with an ERROR)',
    labelNames: ['reason'], registers,
  }));
  const bytes = reuse(registry, 'rackhand_tftp_bytes_sent_total', () => new Counter({
    name: 'rackhand_tftp_bytes_sent_total', help: 'TFTP DATA payload bytes sent, retransmissions included', registers,
  }));
  const retransmits = reuse(registry, 'rackhand_tftp_retransmissions_total', () => new Counter({
    name: 'rackhand_tftp_retransmissions_total', help: 'TFTP DATA and OACK packets sent again after a timeout', registers,
  }));
  const shorts = reuse(registry, 'rackhand_tftp_short_sends_total', () => new Counter({
    name: 'rackhand_tftp_short_sends_total', help: 'TFTP windows the kernel took only part of (socket buffer full); the rest was sent later', registers,
  }));
  const active = reuse(registry, 'rackhand_tftp_active_transfers', () => new Gauge({
    name: 'rackhand_tftp_active_transfers', help: 'TFTP transfers in progress', registers,
  }));
  const stats: TftpStats = { active: 0, transfers: {}, drops: {}, bytesSent: 0, retransmissions: 0, shortSends: 0 };
  return {
    transfer(result) { stats.transfers[result] = (stats.transfers[result] ?? 0) + 1; transfers.inc({ result }); },
    drop(reason) { stats.drops[reason] = (stats.drops[reason] ?? 0) + 1; drops.inc({ reason }); },
    bytesSent(n) { stats.bytesSent += n; bytes.inc(n); },
    retransmissions(n) { if (n > 0) { stats.retransmissions += n; retransmits.inc(n); } },
    shortSends(n) { if (n > 0) { stats.shortSends += n; shorts.inc(n); } },
    setActive(n) { stats.active = n; active.set(n); },
    snapshot: () => structuredClone(stats),
  };
}
