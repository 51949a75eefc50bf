// One DHCP exchange as a boot trace entry (core/boot-trace.ts): what the client said of itself
// (message type, xid, option 93, vendor and user class, relay) and what this server answered —
// OFFER, ACK or NAK with the address and the loader or script it named — or why it stayed silent.
// Built after the answer went out; only for a machine the store knows (the mode's lookup names it).
import type { PendingTrace, TraceOutcome } from '../core/boot-trace.js';
import type { HandleResult, Inbound } from './context.js';
import { MESSAGE_TYPE_NAMES, Opt } from './options.js';
import type { Packet } from './packet.js';

const ZERO = '0.0.0.0';

/** The entry for one handled packet; `sent`: the replies that went out. */
export function dhcpTraceEntry(inb: Inbound, result: HandleResult, sent: Packet[]): PendingTrace {
  const p = inb.packet;
  const type = MESSAGE_TYPE_NAMES[inb.type] ?? String(inb.type);
  const f = inb.facts;
  const detail: PendingTrace['detail'] = {
    type, xid: `0x${p.xid.toString(16).padStart(8, '0')}`, mac: inb.mac,
    arch: f.arch ?? null, vendor_class: f.vendorClass ?? null, user_class: f.userClasses.length ? f.userClasses.join(',') : null,
    ipxe: f.ipxe, port: inb.port,
  };
  if (p.giaddr !== ZERO) detail.relay = p.giaddr;
  if (p.ciaddr !== ZERO) detail.ciaddr = p.ciaddr;
  const requested = p.options.ip(Opt.REQUESTED_IP);
  if (requested) detail.requested = requested;
  let outcome: TraceOutcome = 'ok';
  let summary: string;
  if ('drop' in result) {
    outcome = result.drop === 'internal' ? 'error' : 'no_answer';
    detail.answer = 'none';
    detail.reason = result.drop;
    detail.why = result.detail;
    summary = `${type} → no answer: ${result.detail}`;
  } else if (!sent.length) {
    detail.answer = 'none';
    summary = `${type} → nothing to answer`;
  } else {
    const r = sent[0]!;
    const answer = MESSAGE_TYPE_NAMES[r.options.u8(Opt.MESSAGE_TYPE) ?? 0] ?? 'reply';
    detail.answer = answer;
    if (r.yiaddr !== ZERO) detail.address = r.yiaddr;
    const file = r.file || r.options.string(Opt.BOOTFILE);
    if (file) detail.file = file;
    if (r.siaddr !== ZERO) detail.next_server = r.siaddr;
    const message = r.options.string(Opt.MESSAGE);
    if (answer === 'NAK') {
      outcome = 'refused';
      if (message) detail.why = message;
    }
    summary = `${type} → ${answer}${r.yiaddr !== ZERO ? ` ${r.yiaddr}` : ''}${file ? ` ${file}` : ''}${answer === 'NAK' && message ? `: ${message}` : ''}`;
  }
  return { kind: 'dhcp', outcome, summary, detail, ...(inb.machine && { machine: inb.machine }) };
}
