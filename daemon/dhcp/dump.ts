// A stable, human-readable text form of a packet: the golden-file format of the codec tests and
// what `debug` logs show. One field per line; options in wire order with their decoded value.
import { MESSAGE_TYPE_NAMES, Opt, decodeSubOptions, userClasses, type Options } from './options.js';
import { macOf, type Packet } from './packet.js';

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Opt).map(([k, v]) => [v, k.toLowerCase().replace(/_/g, '-')]),
);

function hex(b: Buffer): string {
  return b.toString('hex').replace(/(..)(?!$)/g, '$1 ');
}

function printable(b: Buffer): boolean {
  return b.length > 0 && [...b].every((c, i) => (c >= 0x20 && c < 0x7f) || (c === 0 && i === b.length - 1));
}

function value(opts: Options, code: number, data: Buffer): string {
  switch (code) {
    case Opt.MESSAGE_TYPE: return `${MESSAGE_TYPE_NAMES[data[0]!] ?? '?'} (${data[0]})`;
    case Opt.SUBNET_MASK: case Opt.BROADCAST: case Opt.REQUESTED_IP: case Opt.SERVER_ID:
    case Opt.ROUTER: case Opt.DNS:
      return opts.ips(code)!.join(', ');
    case Opt.LEASE_TIME: case Opt.RENEWAL_TIME: case Opt.REBINDING_TIME: return `${data.readUInt32BE(0)}`;
    case Opt.MAX_MESSAGE_SIZE: return `${data.readUInt16BE(0)}`;
    case Opt.PARAM_REQUEST: return [...data].join(',');
    case Opt.CLIENT_ARCH: return opts.u16s(code)!.join(',');
    case Opt.USER_CLASS: return userClasses(opts).map((s) => JSON.stringify(s)).join(' | ');
    case Opt.VENDOR_SPECIFIC: case Opt.RELAY_AGENT: case Opt.IPXE_ENCAP: {
      try {
        const subs = decodeSubOptions(code, data);
        return `{ ${subs.entries().map(([c, d]) => `${c}: ${printable(d) ? JSON.stringify(d.toString('latin1')) : hex(d)}`).join('; ')} }`;
      } catch {
        return hex(data);
      }
    }
    default: return printable(data) ? JSON.stringify(data.toString('latin1')) : hex(data);
  }
}

export function dump(p: Packet): string {
  const lines = [
    `op: ${p.op === 1 ? 'BOOTREQUEST' : p.op === 2 ? 'BOOTREPLY' : '?'} (${p.op})`,
    `htype: ${p.htype}  hlen: ${p.hlen}  hops: ${p.hops}`,
    `xid: 0x${p.xid.toString(16).padStart(8, '0')}  secs: ${p.secs}  flags: 0x${p.flags.toString(16).padStart(4, '0')}`,
    `ciaddr: ${p.ciaddr}  yiaddr: ${p.yiaddr}  siaddr: ${p.siaddr}  giaddr: ${p.giaddr}`,
    `chaddr: ${macOf(p)}`,
    `sname: ${JSON.stringify(p.sname)}`,
    `file: ${JSON.stringify(p.file)}`,
    'options:',
  ];
  for (const [code, data] of p.options.entries()) {
    lines.push(`  ${code} ${NAMES[code] ?? 'unknown'} [${data.length}]: ${value(p.options, code, data)}`);
  }
  return lines.join('\n') + '\n';
}
