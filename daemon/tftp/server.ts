// The TFTP listener: reads requests on the well-known port, refuses what it must, and hands
// each read request to its own transfer (transfer.ts) on a fresh socket. Read-only: a write
// request is refused with ERROR 2. Every packet it cannot use is counted as a drop by reason;
// nothing a client sends can throw out of here.

import type { Registry } from 'prom-client';
import type dgram from 'node:dgram';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { decode, encode, errorPacket, ERROR_CODE, TftpDecodeError, type TftpPacket } from './packet.js';
import { negotiate, TftpOptionError, type NegotiationLimits } from './options.js';
import { netasciiFile, TftpRefusal, type TftpFile } from './files.js';
import { effectiveMaxBlockSize, resolveSettings, type TftpSettings, type TftpSettingsInput } from './settings.js';
import type { Peer, SocketFactory, TftpSocket } from './socket.js';
import { defaultSocketFactory } from './socket-batched.js';
import { startTransfer, type Transfer } from './transfer.js';
import { tftpMetrics, type TftpStats } from './metrics.js';
import type { TraceSink } from '../core/boot-trace.js';
import { tftpTraceEntry, type TftpFetch } from './trace.js';

export interface TftpDeps {
  logger?: Logger;
  registry?: Registry;
  socketFactory?: SocketFactory;
  /** Restricts a socket to settings.bindInterface (SO_BINDTODEVICE), when the daemon has a way. */
  bindToDevice?: (socket: dgram.Socket, ifname: string) => void;
  /** Where each read request's outcome is told (the boot trace); a synchronous push, never awaited. */
  trace?: TraceSink;
}

export interface TftpServer {
  readonly port: number;
  readonly address: string;
  /** The block size offered at most, after the MTU cap. */
  readonly maxBlockSize: number;
  stats(): TftpStats;
  /** Stops listening, aborts transfers in progress (ERROR 0 to their clients), waits for them. */
  close(): Promise<void>;
}

type RequestPacket = Extract<TftpPacket, { filename: string }>;

export async function startTftpServer(input: TftpSettingsInput, deps: TftpDeps = {}): Promise<TftpServer> {
  const settings: TftpSettings = resolveSettings(input);
  const log = (deps.logger ?? silentLogger).child({ component: 'tftp' });
  const metrics = tftpMetrics(deps.registry);
  const chosen = deps.socketFactory ? undefined : defaultSocketFactory();
  const factory = deps.socketFactory ?? chosen!.factory;
  const cap = await effectiveMaxBlockSize(settings);
  const limits: NegotiationLimits = {
    maxBlockSize: cap.maxBlockSize, maxWindowSize: settings.maxWindowSize, maxWindowBytes: settings.maxWindowBytes,
  };
  // Keyed by client address:port, so a retransmitted RRQ does not start a second transfer.
  const active = new Map<string, Transfer | undefined>();
  const finished = new Set<Promise<unknown>>();
  let closing = false;

  const bindDevice = (socket: TftpSocket): void => {
    if (settings.bindInterface && deps.bindToDevice && socket.raw) deps.bindToDevice(socket.raw, settings.bindInterface);
  };

  const listener = factory('listen');
  listener.onError((err) => log.warn({ err: err.message }, 'tftp listening socket error'));
  await listener.bind(settings.port, settings.address);
  bindDevice(listener);
  const port = listener.localPort();
  log.info({ address: settings.address, port, maxBlockSize: cap.maxBlockSize, mtu: cap.mtu, interface: cap.interface,
    transport: listener.transport, ...(chosen?.why ? { why: chosen.why } : {}) }, 'tftp listening');

  const refuse = (peer: Peer, reason: string, code: number, message: string): void => {
    metrics.drop(reason);
    listener.send(errorPacket(code, message), peer);
  };

  listener.onMessage((msg, peer) => {
    if (closing) return;
    let packet: TftpPacket;
    try {
      packet = decode(msg);
    } catch (err) {
      const reason = err instanceof TftpDecodeError ? err.code : 'undecodable';
      metrics.drop(reason);
      log.debug({ client: `${peer.address}:${peer.port}`, reason, err: (err as Error).message }, 'tftp packet dropped');
      return;
    }
    if (packet.op === 'WRQ') {
      log.info({ client: `${peer.address}:${peer.port}`, file: packet.filename }, 'tftp write request refused');
      refuse(peer, 'write_request', ERROR_CODE.accessViolation, 'write requests are not accepted: read-only server');
      return;
    }
    // An ERROR here is a client's answer to an ERROR we sent from this port (tftp-hpa does
    // that): expected, so not a drop. DATA, ACK and OACK belong on a transfer's port.
    if (packet.op === 'ERROR') return;
    if (packet.op !== 'RRQ') { metrics.drop('unexpected_opcode'); return; }
    onRequest(packet, peer).catch((err: unknown) => log.error({ err: (err as Error).message }, 'tftp request failed'));
  });

  async function onRequest(rrq: RequestPacket, peer: Peer): Promise<void> {
    const key = `${peer.address}:${peer.port}`;
    const mode = rrq.mode.toLowerCase();
    const told = (f: Omit<TftpFetch, 'address' | 'file'>) => deps.trace?.(tftpTraceEntry({ address: peer.address, file: rrq.filename, ...f }));
    if (mode === 'mail') { refuse(peer, 'unsupported_mode', ERROR_CODE.illegalOperation, 'mail mode is not supported'); return; }
    if (active.has(key)) {
      // Never a second transfer for one client port; but a transfer that has had no ACK yet sends
      // its first answer again (Transfer.repeatRequested), since the repeat says it was lost.
      active.get(key)?.repeatRequested();
      metrics.drop('duplicate_request');
      return;
    }
    if (active.size >= settings.maxTransfers) {
      told({ result: 'busy', detail: `${active.size} transfers in progress` });
      refuse(peer, 'busy', ERROR_CODE.notDefined, `server busy: ${active.size} transfers in progress, retry later`);
      log.warn({ client: key, file: rrq.filename, limit: settings.maxTransfers }, 'tftp request refused: too many transfers');
      return;
    }
    try {
      negotiate(rrq.options, limits, 0); // values checked before touching any file
    } catch (err) {
      if (!(err instanceof TftpOptionError)) throw err;
      told({ result: 'bad_option', detail: err.message });
      refuse(peer, 'bad_option', ERROR_CODE.optionRefused, err.message);
      log.info({ client: key, file: rrq.filename, err: err.message }, 'tftp request refused: bad option');
      return;
    }
    active.set(key, undefined); // reserved while the file opens
    metrics.setActive(active.size);
    const started = performance.now();
    const fields = { client: key, file: rrq.filename };
    let file: TftpFile | undefined;
    try {
      file = await settings.handler(rrq.filename, peer);
      if (file && mode === 'netascii') file = await netasciiFile(file, settings.netasciiMaxBytes);
    } catch (err) {
      release(key);
      const refusal = err instanceof TftpRefusal ? err : undefined;
      const code = refusal?.code ?? ERROR_CODE.notDefined;
      const result = code === ERROR_CODE.accessViolation ? 'access_violation' : code === ERROR_CODE.fileNotFound ? 'not_found' : 'failed';
      metrics.transfer(result);
      told({ result, detail: refusal?.message ?? 'internal error' });
      listener.send(errorPacket(code, refusal?.message ?? 'internal error'), peer);
      log.warn({ ...fields, result, detail: refusal?.detail ?? (err as Error).message }, 'tftp request refused');
      return;
    }
    if (!file) {
      release(key);
      metrics.transfer('not_found');
      told({ result: 'not_found', detail: 'file not found' });
      listener.send(errorPacket(ERROR_CODE.fileNotFound, 'file not found'), peer);
      log.info({ ...fields, result: 'not_found' }, 'tftp file not found');
      return;
    }
    if (closing) { release(key); await file.close(); return; }
    const n = negotiate(rrq.options, limits, file.size);
    let socket: TftpSocket | undefined;
    try {
      socket = factory('transfer');
      socket.onError(() => undefined); // replaced by the transfer's handler
      await socket.bind(0, settings.address);
      bindDevice(socket);
      await socket.connect(peer.port, peer.address);
    } catch (err) {
      socket?.close();
      release(key);
      await file.close();
      metrics.transfer('failed');
      listener.send(errorPacket(ERROR_CODE.notDefined, 'internal error'), peer);
      log.error({ ...fields, err: (err as Error).message }, 'tftp transfer socket failed');
      return;
    }
    const capMs = n.timeoutSec === undefined ? settings.maxTimeoutMs : n.timeoutSec * 1000;
    const transfer = startTransfer({
      socket, file, blockSize: n.blockSize, windowSize: n.windowSize,
      oack: n.oack.length > 0 ? encode({ op: 'OACK', options: n.oack }) : undefined,
      // The client's timeout option (RFC 2349) is the longest we wait before resending.
      timing: { initialMs: Math.min(settings.timeoutMs, capMs), minMs: Math.min(settings.minTimeoutMs, capMs), maxMs: capMs, maxRetries: settings.maxRetries },
      // Each ring is two reads long: the budget shared by the transfers now running.
      readAheadBytes: Math.min(settings.readAheadBytes, Math.floor(settings.readAheadBudgetBytes / 2 / active.size)),
      onDrop: (reason) => metrics.drop(reason),
    });
    active.set(key, transfer);
    startSpinning();
    const size = file.size;
    const asksSize = n.oack.some((o) => o.name.toLowerCase() === 'tsize');
    const done = transfer.done.then((o) => {
      release(key);
      // EDK2 firmware (OVMF and most UEFI servers) first asks a loader's size (tsize), then ends
      // that request with an ERROR before any data and downloads it in a second one: a step that
      // went as the client meant, not a failure (the trace would otherwise show it as one).
      const result = o.result === 'client_error' && o.bytesSent === 0 && asksSize ? 'size_read' : o.result;
      metrics.transfer(result);
      metrics.bytesSent(o.bytesSent);
      metrics.retransmissions(o.retransmissions);
      metrics.shortSends(o.shortSends);
      const ms = Math.round(performance.now() - started);
      const line = {
        ...fields, result, bytes: size, ms, blksize: n.blockSize, windowsize: n.windowSize,
        retransmissions: o.retransmissions, rtoMs: o.rtoMs, ...(o.detail ? { detail: o.detail } : {}),
      };
      if (result === 'ok' || result === 'size_read') log.info(line, result === 'ok' ? 'tftp transfer done' : 'tftp size read');
      else log.warn(line, 'tftp transfer failed');
      told({ result, bytes: size, ms, blksize: n.blockSize, windowsize: n.windowSize, ...(o.detail && { detail: o.detail }) });
    });
    finished.add(done);
    void done.finally(() => finished.delete(done));
  }

  function release(key: string): void {
    active.delete(key);
    metrics.setActive(active.size);
  }

  // See settings.busyPoll: a pending setImmediate makes libuv poll with a zero timeout.
  let spinning = false;
  function spin(): void {
    if (active.size === 0 || closing) { spinning = false; return; }
    setImmediate(spin);
  }
  function startSpinning(): void {
    if (!settings.busyPoll || spinning) return;
    spinning = true;
    setImmediate(spin);
  }

  return {
    port,
    address: settings.address,
    maxBlockSize: cap.maxBlockSize,
    stats: () => metrics.snapshot(),
    async close() {
      if (closing) return;
      closing = true;
      listener.close();
      for (const t of active.values()) t?.abort('server shutting down');
      await Promise.all([...finished]);
    },
  };
}
