// The overview's service health, for operators: what this daemon's own counters say (the registry
// /metrics serves, so the page and Prometheus never disagree) about its DHCP, TFTP and HTTP
// servers and its store, and the BMC queues of the power layer. A server whose counters are not
// registered does not run on this daemon (an HTTP-only daemon, a rack's secondary). Reading is
// split from judging: healthOf is pure, for the unit tests.
import type { Registry } from 'prom-client';

export type Reading = { value: number; labels: Record<string, string | number> }[];
export type Readings = Map<string, Reading>;

export const HEALTH_METRICS = [
  'rackhand_dhcp_messages_total', 'rackhand_dhcp_replies_total', 'rackhand_dhcp_drops_total', 'rackhand_dhcp_pool_exhausted_total',
  'rackhand_tftp_transfers_total', 'rackhand_tftp_drops_total', 'rackhand_tftp_active_transfers',
  'rackhand_http_requests_total', 'rackhand_http_connections', 'rackhand_http_connections_refused_total',
  'rackhand_store_available', 'rackhand_store_refused_requests_total', 'rackhand_power_operations_total',
] as const;

/** The few metrics the overview shows, read now (collect() runs for gauges); absent ones are left out. */
export async function readHealthMetrics(registry: Registry): Promise<Readings> {
  const out: Readings = new Map();
  for (const name of HEALTH_METRICS) {
    const m = registry.getSingleMetric(name);
    if (m) out.set(name, (await m.get()).values.map((v) => ({ value: v.value, labels: v.labels as Record<string, string | number> })));
  }
  return out;
}

export interface ServiceHealth { name: string; status: 'up' | 'down' | 'off'; detail: string[] }
export interface QueueLane { key: string; running: boolean; waiting: number }

const sum = (r: Reading | undefined, where: (l: Record<string, string | number>) => boolean = () => true): number =>
  (r ?? []).filter((v) => where(v.labels)).reduce((n, v) => n + v.value, 0);
/** The largest labels of a counter, "reason 12, other 3", for a short line. */
function top(r: Reading | undefined, label: string, n = 3): string {
  const by = new Map<string, number>();
  for (const v of r ?? []) by.set(String(v.labels[label]), (by.get(String(v.labels[label])) ?? 0) + v.value);
  return [...by].filter(([, c]) => c > 0).sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, c]) => `${k} ${c}`).join(', ');
}

export function healthOf(m: Readings, lanes: QueueLane[]): ServiceHealth[] {
  const out: ServiceHealth[] = [];
  if (m.has('rackhand_dhcp_messages_total')) {
    const drops = top(m.get('rackhand_dhcp_drops_total'), 'reason');
    out.push({ name: 'DHCP', status: 'up', detail: [
      `received ${sum(m.get('rackhand_dhcp_messages_total'))}, answered ${sum(m.get('rackhand_dhcp_replies_total'))}, dropped ${sum(m.get('rackhand_dhcp_drops_total'))}`,
      ...(drops ? [`drops: ${drops}`] : []),
      ...(sum(m.get('rackhand_dhcp_pool_exhausted_total')) ? [`pool exhausted ${sum(m.get('rackhand_dhcp_pool_exhausted_total'))} times`] : []),
    ] });
  } else out.push({ name: 'DHCP', status: 'off', detail: ['not served by this daemon'] });
  if (m.has('rackhand_tftp_transfers_total')) {
    const results = top(m.get('rackhand_tftp_transfers_total'), 'result');
    out.push({ name: 'TFTP', status: 'up', detail: [
      `transfers ${sum(m.get('rackhand_tftp_transfers_total'))}${results ? ` (${results})` : ''}, active ${sum(m.get('rackhand_tftp_active_transfers'))}, dropped ${sum(m.get('rackhand_tftp_drops_total'))}`,
    ] });
  } else out.push({ name: 'TFTP', status: 'off', detail: ['not served by this daemon'] });
  const requests = m.get('rackhand_http_requests_total');
  out.push({ name: 'HTTP', status: 'up', detail: [
    `requests ${sum(requests)}, server errors (5xx) ${sum(requests, (l) => String(l.status).startsWith('5'))}`,
    `open connections ${sum(m.get('rackhand_http_connections'))}, refused by a cap ${sum(m.get('rackhand_http_connections_refused_total'))}`,
  ] });
  const available = m.get('rackhand_store_available')?.[0]?.value;
  const refused = sum(m.get('rackhand_store_refused_requests_total'));
  out.push({ name: 'Store', status: available === 0 ? 'down' : 'up', detail: [
    available === 0 ? 'unavailable: the API answers 503, DHCP renews only durable leases' : 'available',
    `requests refused while it was away ${refused}`,
  ] });
  const inFlight = lanes.filter((l) => l.running).length;
  const waiting = lanes.reduce((n, l) => n + l.waiting, 0);
  const deepest = [...lanes].sort((a, b) => b.waiting - a.waiting)[0];
  const failed = sum(m.get('rackhand_power_operations_total'), (l) => l.outcome === 'failed');
  out.push({ name: 'Power', status: 'up', detail: [
    `BMCs busy ${lanes.length}: calls in flight ${inFlight}, waiting ${waiting}${deepest && deepest.waiting ? ` (deepest ${deepest.key}: ${deepest.waiting})` : ''}`,
    `calls ${sum(m.get('rackhand_power_operations_total'), (l) => l.outcome !== 'retry')}, failed ${failed}`,
  ] });
  return out;
}
