// The DHCP listener: reads a datagram, decodes it, checks it is a client request, hands it to the
// mode chosen at start, sends what the mode returns. Every failure is counted by reason and logged
// with the packet's mac, xid and interface; nothing a client sends can throw out of here.
import type { Registry } from 'prom-client';
import { silentLogger, type Logger } from '../log.js';
import type { DhcpBackend } from './backend.js';
import { clientFacts } from './bootfile.js';
import type { HandleResult, HandlerContext, Inbound, PacketLog } from './context.js';
import { DhcpError, type DropReason } from './errors.js';
import { EnrolGate } from './enrol-gate.js';
import { Intake } from './intake.js';
import { LeaseTable } from './leases.js';
import { counterBy, dhcpMetrics, type DhcpMetrics } from './metrics.js';
import * as full from './mode-full.js';
import * as proxy from './mode-proxy.js';
import { MESSAGE_TYPE_NAMES, MessageType, Opt } from './options.js';
import { BOOTREQUEST, decode, encode, macOf, type Packet } from './packet.js';
import { BootFactsRecorder, LeaseWriter } from './persist.js';
import { PXE_PORT, SERVER_PORT } from './reply.js';
import type { DhcpSettings } from './settings.js';
import { dhcpTransport, openInterfaceSocket, type DhcpSocket, type Remote, type SocketOptions } from './socket.js';
import { isConnectionFailure } from '../core/store/availability.js';
import { storeRefusedCounter } from '../metrics.js';
import type { TraceSink } from '../core/boot-trace.js';
import { dhcpTraceEntry } from './trace.js';

const CLIENT_TYPES: ReadonlySet<number> = new Set([
  MessageType.DISCOVER, MessageType.REQUEST, MessageType.DECLINE, MessageType.RELEASE, MessageType.INFORM,
]);
/** Reasons that are routine (other servers' clients, a storm of strangers): logged at debug only. */
const QUIET: ReadonlySet<DropReason> = new Set(['unmanaged', 'not_for_us', 'overload', 'discovery_rate', 'discovery_cap', 'discovered_share',
  // An outage is logged once by whoever watches the store, and counted here per packet.
  'store_unavailable']);

export interface DhcpServerOptions {
  settings: DhcpSettings;
  backend: DhcpBackend;
  registry: Registry;
  logger?: Logger;
  openSocket?: (opts: SocketOptions) => Promise<DhcpSocket>;
  now?: () => number;
  /** Where each exchange with a known machine is told (the boot trace); called after the answer is sent. */
  trace?: TraceSink;
}

export class DhcpServer {
  readonly metrics: DhcpMetrics;
  readonly leases = new LeaseTable();
  private readonly ctx: HandlerContext;
  private readonly log: Logger;
  private readonly handler: (ctx: HandlerContext, inb: Inbound) => Promise<HandleResult>;
  private readonly sockets = new Map<number, DhcpSocket>();
  private sweeper: NodeJS.Timeout | undefined;
  private inflight = new Set<Promise<void>>();
  private readonly countMessage: (type: string) => void;
  private readonly countReply: (type: string) => void;
  private readonly countDrop: (reason: string) => void;
  private readonly countStoreRefusal: () => void;
  private readonly intake = new Intake(
    (d) => this.track(this.receive(d.msg, d.port, d.from)),
    (d, why) => this.dropped('overload', why, this.packetLog(() => ({ interface: this.opts.settings.interface, from: d.from.address }))),
  );

  constructor(private readonly opts: DhcpServerOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'dhcp' });
    this.metrics = dhcpMetrics(opts.registry);
    this.countMessage = counterBy(this.metrics.messages, 'type');
    this.countReply = counterBy(this.metrics.replies, 'type');
    this.countDrop = counterBy(this.metrics.drops, 'reason');
    const refused = storeRefusedCounter(opts.registry).labels({ server: 'dhcp' });
    this.countStoreRefusal = () => refused.inc();
    this.handler = opts.settings.mode === 'proxy' ? proxy.handle : full.handle;
    this.ctx = {
      settings: opts.settings, backend: opts.backend, leases: this.leases,
      writer: new LeaseWriter(opts.backend, (written) => { for (const l of written) this.leases.markDurable(l); }),
      bootFacts: new BootFactsRecorder(opts.backend, (err) => {
        // Facts are recorded again when they next change, or a minute on: an outage loses nothing that matters.
        if (!isConnectionFailure(err)) this.log.error({ err }, 'recording boot facts failed');
      }),
      metrics: this.metrics, now: opts.now ?? Date.now,
      ...(opts.settings.discovery && { enrolGate: this.enrolGate() }),
    };
  }

  /** Discovery's limits; refusals are told as one warning and one event per minute, with counts. */
  private enrolGate(): EnrolGate {
    const { perMinute, maxPending } = this.opts.settings.discoveryLimits;
    return new EnrolGate({
      perMinute, maxPending, now: this.opts.now,
      countPending: () => this.opts.backend.countPendingDiscovered(),
      onRefusals: (r) => {
        this.log.warn({ refused: r.counts, last_mac: r.lastMac, per_minute: perMinute, max_pending: maxPending },
          'discovery refused to enrol unknown PXE clients (site.discovery limits); the next summary comes in a minute at the earliest');
        this.opts.backend.noteDiscoveryRefused(r).catch((err) => this.log.error({ err }, 'recording refused enrolments failed'));
      },
    });
  }

  async start(): Promise<void> {
    const leases = await this.opts.backend.listLeases();
    this.leases.load(leases);
    // Leases of machines outside the inventory (discovered, or gone) count against their share.
    for (const l of leases) {
      const m = await this.opts.backend.machineByMac(l.mac);
      if (!m || m.source === 'discovered') this.leases.setOutsider(l.mac, true);
    }
    const open = this.opts.openSocket ?? openInterfaceSocket;
    // PXE 2.1 §2.2.3: boot-server requests go to 4011; only a proxy serves them.
    const ports = this.opts.settings.mode === 'proxy' ? [SERVER_PORT, PXE_PORT] : [SERVER_PORT];
    for (const port of ports) {
      const sock = await open({ interface: this.opts.settings.interface, port });
      sock.onMessage((msg, from) => this.intake.push({ msg, port, from, at: Date.now() }));
      this.sockets.set(port, sock);
    }
    this.sweeper = setInterval(() => this.leases.sweep(this.ctx.now()), 30_000).unref();
    const transport = this.sockets.get(SERVER_PORT)?.transport;
    if (transport) this.metrics.transport.labels({ transport }).set(1);
    this.log.info({ interface: this.opts.settings.interface, mode: this.opts.settings.mode, ports, leases: this.leases.all().length, transport,
      ...(transport === 'dgram' && dhcpTransport.why && { why_not_batched: dhcpTransport.why }) }, 'DHCP listening');
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.ctx.enrolGate?.close();
    for (const s of this.sockets.values()) await s.close();
    this.sockets.clear();
    await Promise.allSettled([...this.inflight]);
    await this.ctx.writer.drain();
  }

  /**
   * An operator forgot the machine behind `mac` (the store has retired it and deleted its lease
   * row): its address is free for others now, and its next DHCP packet is a stranger's. A lease
   * write still queued for it is let through first, then deleted again.
   */
  async forget(mac: string): Promise<void> {
    this.leases.forget(mac);
    this.opts.backend.forgetMac?.(mac);
    await this.ctx.writer.drain();
    if (!this.leases.get(mac)) await this.opts.backend.deleteLease(mac);
  }

  private track(p: Promise<void>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private dropped(reason: DropReason, detail: string, log: PacketLog): void {
    this.countDrop(reason);
    if (reason === 'store_unavailable') this.countStoreRefusal();
    const level = reason === 'internal' ? 'error' : QUIET.has(reason) ? 'debug' : 'info';
    log[level]({ reason, detail }, 'DHCP packet not answered');
  }

  /**
   * The packet's fields are merged only when a line is actually written: a pino child per packet
   * costs more than the rest of a DISCOVER at thousands a second.
   */
  private packetLog(fields: () => Record<string, unknown>): PacketLog {
    return new LazyPacketLog(this.log, fields);
  }

  /** One datagram through the pipeline. Exposed for tests that drive the server without sockets. */
  async receive(msg: Buffer, port: number, from: Remote): Promise<void> {
    const iface = this.opts.settings.interface;
    let packet: Packet;
    try {
      packet = decode(msg);
    } catch (err) {
      const e = err instanceof DhcpError ? err : new DhcpError('internal', 'decode', String(err));
      return this.dropped(e.reason, e.message, this.packetLog(() => ({ interface: iface, from: from.address, bytes: msg.length })));
    }
    const mac = macOf(packet);
    const log = this.packetLog(() => ({ mac, xid: `0x${packet.xid.toString(16).padStart(8, '0')}`, interface: iface }));
    try {
      // A server takes requests only (RFC 2131 §4.1); a reply on port 67 is another server's echo.
      if (packet.op !== BOOTREQUEST) return this.dropped('bad_op', `op is ${packet.op}, a server takes only BOOTREQUEST`, log);
      if (packet.htype !== 1 || packet.hlen !== 6) {
        return this.dropped('bad_htype', `htype ${packet.htype} hlen ${packet.hlen}: only Ethernet (1, 6) is served`, log);
      }
      const type = packet.options.u8(Opt.MESSAGE_TYPE);
      if (type === undefined) return this.dropped('no_message_type', 'no option 53: BOOTP is not served', log);
      this.countMessage(MESSAGE_TYPE_NAMES[type] ?? 'unknown');
      if (!CLIENT_TYPES.has(type)) return this.dropped('bad_message_type', `option 53 is ${type}, not a client message`, log);
      const inb: Inbound = { packet, mac, type, facts: clientFacts(packet, mac), port, from, log };
      const result = await this.handler(this.ctx, inb);
      if ('drop' in result) {
        this.dropped(result.drop, result.detail, log);
        return this.opts.trace?.(dhcpTraceEntry(inb, result, []));
      }
      const sent: Packet[] = [];
      for (const out of result.replies) {
        const sock = this.sockets.get(out.via) ?? this.sockets.get(SERVER_PORT);
        if (!sock) continue;
        const replyType = out.packet.options.u8(Opt.MESSAGE_TYPE)!;
        await sock.send(encode(out.packet, { maxSize: out.maxSize }), out.port, out.address);
        this.countReply(MESSAGE_TYPE_NAMES[replyType] ?? 'unknown');
        sent.push(out.packet);
        if (this.log.isLevelEnabled('debug')) {
          log.debug({ reply: MESSAGE_TYPE_NAMES[replyType], to: `${out.address}:${out.port}`, yiaddr: out.packet.yiaddr, file: out.packet.file }, 'DHCP reply sent');
        }
      }
      // After the answer went out: the trace costs the client nothing (one push into memory).
      this.opts.trace?.(dhcpTraceEntry(inb, result, sent));
    } catch (err) {
      if (err instanceof DhcpError) return this.dropped(err.reason, err.message, log);
      if (isConnectionFailure(err)) return this.dropped('store_unavailable', (err as Error).message, log);
      this.dropped('internal', err instanceof Error ? err.message : String(err), log);
    }
  }
}

class LazyPacketLog implements PacketLog {
  constructor(private readonly base: Logger, private readonly fields: () => Record<string, unknown>) {}
  private at(level: 'debug' | 'info' | 'warn' | 'error', extra: Record<string, unknown>, msg: string): void {
    if (this.base.isLevelEnabled(level)) this.base[level]({ ...this.fields(), ...extra }, msg);
  }
  debug(extra: Record<string, unknown>, msg: string): void { this.at('debug', extra, msg); }
  info(extra: Record<string, unknown>, msg: string): void { this.at('info', extra, msg); }
  warn(extra: Record<string, unknown>, msg: string): void { this.at('warn', extra, msg); }
  error(extra: Record<string, unknown>, msg: string): void { this.at('error', extra, msg); }
}

export async function startDhcpServer(opts: DhcpServerOptions): Promise<DhcpServer> {
  const server = new DhcpServer(opts);
  await server.start();
  return server;
}
