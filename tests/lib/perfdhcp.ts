// perfdhcp (Debian kea-admin) as a relay agent: it sends from port 67 with giaddr set to its own
// address and wants the answers there. Shared by the DHCP net and security tests and bench/dhcp.
import type { Netns } from './netns.js';

/** The MACs perfdhcp -R N uses: its base MAC with the client number added bytewise from the end. */
export function perfdhcpMacs(n: number, base = '00:0c:01:02:03:04'): string[] {
  const template = base.split(':').map((h) => parseInt(h, 16));
  const out = new Set<string>();
  for (let r0 = 0; r0 < n; r0++) {
    const b = [...template];
    let r = r0;
    for (let i = b.length - 1; i >= 0; i--) {
      b[i] = (b[i]! + r) & 0xff;
      if (r < 256) break;
      r >>= 8;
    }
    out.add(b.map((x) => x.toString(16).padStart(2, '0')).join(':'));
  }
  return [...out];
}

export interface PerfdhcpResult {
  exitCode: number;
  /** 4-way exchanges per second as perfdhcp reports it (divided by period + wait). */
  rate: number;
  discoverSent: number;
  offersReceived: number;
  requestSent: number;
  acksReceived: number;
  drops: number;
  output: string;
}

function stat(text: string, section: string, field: string): number {
  const i = text.indexOf(`Statistics for: ${section}`);
  if (i < 0) return 0;
  const m = new RegExp(`${field}: (\\d+)`).exec(text.slice(i));
  return m ? Number(m[1]) : 0;
}

export function parsePerfdhcp(output: string, exitCode: number): PerfdhcpResult {
  const rate = /Rate: ([\d.]+) 4-way exchanges\/second/.exec(output);
  return {
    exitCode, output, rate: rate ? Number(rate[1]) : 0,
    discoverSent: stat(output, 'DISCOVER-OFFER', 'sent packets'),
    offersReceived: stat(output, 'DISCOVER-OFFER', 'received packets'),
    requestSent: stat(output, 'REQUEST-ACK', 'sent packets'),
    acksReceived: stat(output, 'REQUEST-ACK', 'received packets'),
    drops: stat(output, 'DISCOVER-OFFER', 'drops') + stat(output, 'REQUEST-ACK', 'drops'),
  };
}

export interface PerfdhcpRun {
  local: string;
  server: string;
  clients: number;
  /** Exchanges per second; undefined floods. */
  rate?: number;
  seconds: number;
  /** PXE options 60 and 93 (arch 7) in DISCOVER and REQUEST. */
  pxe?: boolean;
  /** Extra arguments (taskset etc. go in `prefix`). */
  extra?: string[];
  prefix?: string[];
}

export function perfdhcpArgs(o: PerfdhcpRun): string[] {
  return [
    ...(o.prefix ?? []), 'perfdhcp', '-4', '-l', o.local, '-R', String(o.clients), '-p', String(o.seconds), '-W', '1000000',
    ...(o.rate ? ['-r', String(o.rate)] : []),
    ...(o.pxe ?? true ? ['-o', '60,505845436c69656e74', '-o', '93,0007'] : []),
    ...(o.extra ?? []), o.server,
  ];
}

/** Runs perfdhcp to the end and parses its statistics (its exit code 3 means some loss). */
export async function perfdhcp(ns: Netns, o: PerfdhcpRun): Promise<PerfdhcpResult> {
  const args = perfdhcpArgs(o);
  const child = ns.spawn(args[0]!, args.slice(1));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? -1)));
  return parsePerfdhcp(out, code);
}
