// Caps on the HTTP listener's open connections, in total and per source address
// (`site.http_connections`): a client that opens connections and sends nothing holds only its own
// share, so it cannot stop another from being served. A connection over a cap is closed at once
// and counted. Connections that never send a complete request head are dropped after
// `HEADERS_TIMEOUT_MS`, so idle ones do not hold their share for long either.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ConnectionLimits {
  /** Open connections at most, all sources together. */
  max: number;
  /** Open connections at most from one source address. */
  per_source: number;
}

/** How long a client may take to send a request's head (Node's default is a minute). */
export const HEADERS_TIMEOUT_MS = 15_000;

export function limitConnections(server: Server, limits: () => ConnectionLimits, registry: Registry): void {
  const refused = new Counter({
    name: 'rackhand_http_connections_refused_total', help: 'HTTP connections closed at once by a cap (total or per source)',
    labelNames: ['cap'], registers: [registry],
  });
  const bySource = new Map<string, number>();
  let open = 0;
  new Gauge({
    name: 'rackhand_http_connections', help: 'Open HTTP connections', registers: [registry],
    collect() { this.set(open); },
  });
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.on('connection', (socket: Socket) => {
    const source = socket.remoteAddress ?? '?';
    const { max, per_source: perSource } = limits();
    const mine = bySource.get(source) ?? 0;
    const cap = open >= max ? 'total' : mine >= perSource ? 'per_source' : undefined;
    if (cap) {
      refused.inc({ cap });
      socket.destroy();
      return;
    }
    open++;
    bySource.set(source, mine + 1);
    socket.once('close', () => {
      open--;
      const left = (bySource.get(source) ?? 1) - 1;
      if (left > 0) bySource.set(source, left);
      else bySource.delete(source);
    });
  });
}
