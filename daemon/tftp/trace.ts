// One TFTP read request as a boot trace entry (core/boot-trace.ts): the file asked for, the
// options agreed (blksize, windowsize), the bytes and time, and how it ended (sent, not found,
// refused, timed out…). The server knows only the client's address: the recorder resolves it to
// the machine that has that address as DHCP knows it, or drops the entry (a stranger grows nothing).
import type { PendingTrace, TraceOutcome } from '../core/boot-trace.js';

export interface TftpFetch {
  address: string;
  file: string;
  /** ok, size_read (the client asked the size, then closed), or why not (not_found, access_violation, bad_option, busy, timeout, client_gone…). */
  result: string;
  detail?: string;
  blksize?: number;
  windowsize?: number;
  bytes?: number;
  ms?: number;
}

const REFUSED: ReadonlySet<string> = new Set(['not_found', 'access_violation', 'bad_option', 'busy', 'unsupported_mode']);

export function tftpTraceEntry(f: TftpFetch): PendingTrace {
  const outcome: TraceOutcome = f.result === 'ok' || f.result === 'size_read' ? 'ok' : REFUSED.has(f.result) ? 'refused' : 'error';
  const detail: PendingTrace['detail'] = { file: f.file, result: f.result, client: f.address };
  for (const k of ['blksize', 'windowsize', 'bytes', 'ms'] as const) if (f[k] !== undefined) detail[k] = f[k]!;
  if (f.detail) detail.why = f.detail;
  const size = f.bytes !== undefined && (f.result === 'ok' || f.result === 'size_read') ? ` (${f.bytes} bytes)` : '';
  const said = f.result === 'ok' ? 'sent' : f.result === 'size_read' ? 'size told, the client closed to download it next' : f.result;
  const why = f.detail && f.result !== 'ok' && f.result !== 'size_read' ? `: ${f.detail}` : '';
  return { kind: 'tftp', outcome, address: f.address, summary: `RRQ ${f.file} → ${said}${size}${why}`, detail };
}
