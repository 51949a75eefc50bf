// DHCP counters on the process registry (served at /metrics).
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Counts not yet added to their counter, per counter: prom-client hashes the label object on every
 * inc() (a child from labels() does too), about 1 µs, twice per DHCP message. The hot path adds to
 * a plain Map; the counter's collect() (run by every read of the registry) moves the tallies in.
 */
const tallies = new WeakMap<object, { label: string; counts: Map<string, number> }[]>();

function addTallies(this: Counter<string>): void {
  for (const { label, counts } of tallies.get(this) ?? []) {
    for (const [value, n] of counts) this.inc({ [label]: value }, n);
    counts.clear();
  }
}

/** inc() by label value, for a counter made with `collect: addTallies` (below). */
export function counterBy<L extends string>(counter: Counter<L>, label: L): (value: string) => void {
  const counts = new Map<string, number>();
  let list = tallies.get(counter);
  if (!list) tallies.set(counter, list = []);
  list.push({ label, counts });
  return (value) => { counts.set(value, (counts.get(value) ?? 0) + 1); };
}

export interface DhcpMetrics {
  messages: Counter<'type'>;
  drops: Counter<'reason'>;
  replies: Counter<'type'>;
  poolExhausted: Counter<'subnet'>;
  /** 1 for the datagram transport in use: batched (the recvmmsg/sendmmsg addon) or dgram. */
  transport: Gauge<'transport'>;
}

/** One set per registry: a daemon's DHCP servers (its own segment, a secondary one) count together. */
const perRegistry = new WeakMap<Registry, DhcpMetrics>();

export function dhcpMetrics(registry: Registry): DhcpMetrics {
  let metrics = perRegistry.get(registry);
  if (!metrics) { metrics = createDhcpMetrics(registry); perRegistry.set(registry, metrics); }
  return metrics;
}

function createDhcpMetrics(registry: Registry): DhcpMetrics {
  return {
    messages: new Counter({ name: 'rackhand_dhcp_messages_total', help: 'DHCP messages received, by option 53 type', labelNames: ['type'], registers: [registry], collect: addTallies }),
    drops: new Counter({ name: 'rackhand_dhcp_drops_total', help: 'DHCP packets dropped or not answered, by reason', labelNames: ['reason'], registers: [registry], collect: addTallies }),
    replies: new Counter({ name: 'rackhand_dhcp_replies_total', help: 'DHCP replies sent (OFFER, ACK, NAK), by type', labelNames: ['type'], registers: [registry], collect: addTallies }),
    poolExhausted: new Counter({ name: 'rackhand_dhcp_pool_exhausted_total', help: 'Requests that found no free address in a pool', labelNames: ['subnet'], registers: [registry] }),
    transport: new Gauge({ name: 'rackhand_dhcp_transport', help: 'The DHCP sockets\' datagram transport: 1 for batched (recvmmsg/sendmmsg addon) or dgram (Node)', labelNames: ['transport'], registers: [registry] }),
  };
}
