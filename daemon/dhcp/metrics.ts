// DHCP counters on the process registry (served at /metrics).
import { Counter, Gauge, type Registry } from 'prom-client';

/** inc() by label value through cached children: prom-client hashes label objects on every call. */
export function counterBy<L extends string>(counter: Counter<L>, label: L): (value: string) => void {
  const children = new Map<string, { inc(): void }>();
  return (value) => {
    let child = children.get(value);
    if (!child) {
      child = counter.labels({ [label]: value } as Record<L, string>);
      children.set(value, child);
    }
    child.inc();
  };
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
    messages: new Counter({ name: 'rackhand_dhcp_messages_total', help: 'DHCP messages received, by option 53 type', labelNames: ['type'], registers: [registry] }),
    drops: new Counter({ name: 'rackhand_dhcp_drops_total', help: 'DHCP packets dropped or not answered, by reason', labelNames: ['reason'], registers: [registry] }),
    replies: new Counter({ name: 'rackhand_dhcp_replies_total', help: 'DHCP replies sent (OFFER, ACK, NAK), by type', labelNames: ['type'], registers: [registry] }),
    poolExhausted: new Counter({ name: 'rackhand_dhcp_pool_exhausted_total', help: 'Requests that found no free address in a pool', labelNames: ['subnet'], registers: [registry] }),
    transport: new Gauge({ name: 'rackhand_dhcp_transport', help: 'The DHCP sockets\' datagram transport: 1 for batched (recvmmsg/sendmmsg addon) or dgram (Node)', labelNames: ['transport'], registers: [registry] }),
  };
}
