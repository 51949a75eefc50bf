// Server settings with defaults (the google/netboot shape: plain values plus one handler),
// and the block-size cap derived from the interface MTU.

import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { BLKSIZE_MAX } from './options.js';
import { directoryHandler } from './root.js';
import type { TftpHandler } from './files.js';

export interface TftpSettings {
  /** Address to listen on; 0.0.0.0 listens on every interface. */
  address: string;
  port: number;
  /** Interface the daemon serves (site.interface): its MTU caps the block size. */
  bindInterface?: string;
  /** Path → file. Defaults to directoryHandler(root) when only `root` is given. */
  handler: TftpHandler;
  /** Largest block offered, before the MTU cap (RFC 2348 allows 65464). */
  maxBlockSize: number;
  /** Largest RFC 7440 window accepted. */
  maxWindowSize: number;
  /** Bytes of one window at most (blksize × windowsize), bounding memory per transfer. */
  maxWindowBytes: number;
  /** First retransmission timeout, before any round trip has been measured. */
  timeoutMs: number;
  /** Floor of the measured (RFC 6298 style) retransmission timeout. */
  minTimeoutMs: number;
  /** Ceiling of the timeout after exponential backoff (the client's timeout option lowers it). */
  maxTimeoutMs: number;
  /** Retransmissions of one block or window without progress before the transfer fails. */
  maxRetries: number;
  /** Concurrent transfers; requests past it get ERROR 0 "server busy". */
  maxTransfers: number;
  /** netascii is converted in memory, so only files up to this size are served in it. */
  netasciiMaxBytes: number;
  /** File bytes read per fs call: larger reads mean fewer syscalls per block. */
  readAheadBytes: number;
  /**
   * Read-ahead memory of all transfers together: with many at once each gets a smaller ring (never
   * under one window). Files in memory (small ones, shared by every transfer) use none.
   */
  readAheadBudgetBytes: number;
  /**
   * Keep the event loop polling (never sleeping in epoll) while transfers are in flight. A
   * lock-step transfer waits one round trip per block, and on a VM an idle vCPU takes tens of
   * microseconds to wake: measured here, that wake-up, not our code, bounded throughput
   * (see BENCHMARKS.md). Costs one busy core only while TFTP transfers run.
   */
  busyPoll: boolean;
}

export type TftpSettingsInput = Partial<TftpSettings> & ({ handler: TftpHandler } | { root: string });

export const DEFAULT_SETTINGS: Omit<TftpSettings, 'handler'> = {
  address: '0.0.0.0',
  port: 69,
  maxBlockSize: BLKSIZE_MAX,
  maxWindowSize: 64,
  maxWindowBytes: 1 << 20,
  timeoutMs: 1000,
  minTimeoutMs: 100,
  maxTimeoutMs: 8000,
  maxRetries: 6,
  maxTransfers: 2048,
  netasciiMaxBytes: 1 << 20,
  readAheadBytes: 256 << 10,
  readAheadBudgetBytes: 128 << 20,
  busyPoll: true,
};

export function resolveSettings(input: TftpSettingsInput): TftpSettings {
  const handler = 'handler' in input && input.handler ? input.handler : directoryHandler((input as { root: string }).root);
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const settings: TftpSettings = { ...DEFAULT_SETTINGS, ...defined, handler };
  delete (settings as Partial<{ root: string }>).root;
  for (const key of ['port', 'maxBlockSize', 'maxWindowSize', 'maxWindowBytes', 'timeoutMs', 'minTimeoutMs',
    'maxTimeoutMs', 'maxRetries', 'maxTransfers', 'netasciiMaxBytes', 'readAheadBytes', 'readAheadBudgetBytes'] as const) {
    const v = settings[key];
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`tftp setting ${key}: ${v} is not a non-negative integer`);
  }
  if (settings.maxBlockSize < 8) throw new RangeError(`tftp setting maxBlockSize: ${settings.maxBlockSize} is below 8`);
  if (settings.maxWindowSize < 1) throw new RangeError(`tftp setting maxWindowSize: ${settings.maxWindowSize} is below 1`);
  return settings;
}

/** IPv4 (20) + UDP (8) + TFTP DATA header (4): a block of mtu − 32 bytes fills one frame. */
export const DATA_OVERHEAD = 32;

/** The interface holding `address`, when it is a specific local address. */
export function interfaceOf(address: string): string | undefined {
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (addrs?.some((a) => a.family === 'IPv4' && a.address === address)) return name;
  }
  return undefined;
}

export async function interfaceMtu(name: string): Promise<number | undefined> {
  // The name comes from configuration: keep it from walking out of /sys/class/net.
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(name)) return undefined;
  try {
    const mtu = Number((await readFile(`/sys/class/net/${name}/mtu`, 'utf8')).trim());
    return Number.isInteger(mtu) && mtu > DATA_OVERHEAD ? mtu : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The block size actually offered: the setting, capped so a DATA packet fits the MTU of the
 * interface we serve (RFC 2348 §2 leaves the cap to the server; fragments are lost as a whole).
 * Listening on 0.0.0.0 with no bindInterface leaves only the setting.
 */
export async function effectiveMaxBlockSize(settings: TftpSettings): Promise<{ maxBlockSize: number; mtu?: number; interface?: string }> {
  const name = settings.bindInterface ?? interfaceOf(settings.address);
  const mtu = name ? await interfaceMtu(name) : undefined;
  const cap = mtu ? mtu - DATA_OVERHEAD : BLKSIZE_MAX;
  return { maxBlockSize: Math.max(8, Math.min(settings.maxBlockSize, cap, BLKSIZE_MAX)), ...(mtu ? { mtu } : {}), ...(name ? { interface: name } : {}) };
}
