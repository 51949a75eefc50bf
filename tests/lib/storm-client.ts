// A rack powering on at once, as a child process in the client namespace (SPEC §8, boot storm):
//   node --import tsx tests/lib/storm-client.ts SERVER RELAY COUNT SPREAD_MS [FIRST]
// Each of COUNT machines (MAC stormMac(n), n from FIRST: a rack's share of a storm over racks) does what PXE firmware, then iPXE, then the agent do:
// DHCP as a PXE ROM (arch 0) through a relay at RELAY → TFTP the loader it was told → DHCP again
// as iPXE → its script over HTTP → the kernel and initrd the script names → the agent's `next`
// and an inspect report. Starts are spread over SPREAD_MS. The TFTP transfer and every HTTP
// request leave from the address DHCP gave that machine, as a real one's do (the client namespace
// holds the relay's whole /16 as local addresses): boot secrets are served to a machine's own
// address only, and the boot trace knows a machine by it.
// The agent part trades the script's boot nonce for an agent token and sends it in a header. Retries follow the firmware: DHCP
// every 4, 8, 16 s; TFTP by its own timeouts; HTTP a few times. Prints one JSON line: per-phase
// durations, bytes, retries, and every client that did not get through with where it stopped.
import dgram from 'node:dgram';
import http from 'node:http';
import { tftpGet } from '../fixtures/tftp/client.js';
import { stormMac } from './machines.js';
import { MessageType, Opt, Options } from '../../daemon/dhcp/options.js';
import { chaddrFromMac, decode, encode, macOf, type Packet } from '../../daemon/dhcp/packet.js';

const [server = '10.20.0.1', relay = '10.30.0.1', countArg = '100', spreadArg = '1000', firstArg = '0'] = process.argv.slice(2);
const count = Number(countArg);
const firstMachine = Number(firstArg);
const spreadMs = Number(spreadArg);

const PHASES = ['dhcp_pxe', 'tftp', 'dhcp_ipxe', 'script', 'kernel_initrd', 'agent'] as const;
type Phase = (typeof PHASES)[number];

// One socket on the relay's port 67 takes every reply (RFC 2131 §4.1: relayed → unicast to giaddr).
const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
await new Promise<void>((r) => sock.bind(67, relay, r));
const waiting = new Map<number, (p: Packet) => void>();
sock.on('message', (msg) => {
  let p: Packet;
  try { p = decode(msg); } catch { return; }
  waiting.get(p.xid)?.(p);
});

let dhcpRetransmits = 0;
let httpRetries = 0;

function dhcpPacket(mac: string, xid: number, type: number, ipxe: boolean, offer?: Packet): Buffer {
  const o = new Options().setU8(Opt.MESSAGE_TYPE, type).setU16(Opt.MAX_MESSAGE_SIZE, 1472)
    .set(Opt.PARAM_REQUEST, Buffer.from([1, 3, 6, 43, 60, 66, 67]))
    .setString(Opt.VENDOR_CLASS, 'PXEClient:Arch:00000:UNDI:002001').setU16(Opt.CLIENT_ARCH, 0);
  if (ipxe) o.setString(Opt.USER_CLASS, 'iPXE');
  if (offer) o.setIp(Opt.REQUESTED_IP, offer.yiaddr).setIp(Opt.SERVER_ID, offer.options.ip(Opt.SERVER_ID) ?? server);
  return encode({
    op: 1, htype: 1, hlen: 6, hops: 1, xid, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0',
    giaddr: relay, chaddr: chaddrFromMac(mac), sname: '', file: '', options: o,
  });
}

/** One message and its answer, retransmitted on the PXE schedule (4, 8, 16 s). */
async function exchange(packet: Buffer, xid: number, want: number): Promise<Packet> {
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) dhcpRetransmits++;
    const answer = await new Promise<Packet | undefined>((resolve) => {
      const timer = setTimeout(() => { waiting.delete(xid); resolve(undefined); }, 4000 * 2 ** attempt);
      waiting.set(xid, (p) => {
        if (p.options.u8(Opt.MESSAGE_TYPE) !== want) return;
        clearTimeout(timer);
        waiting.delete(xid);
        resolve(p);
      });
      sock.send(packet, 67, server);
    });
    if (answer) return answer;
  }
  throw new Error(`no DHCP message type ${want} after 4 tries`);
}

async function dora(mac: string, ipxe: boolean): Promise<Packet> {
  const xid = (Math.random() * 0xffffffff) >>> 0;
  const offer = await exchange(dhcpPacket(mac, xid, MessageType.DISCOVER, ipxe), xid, MessageType.OFFER);
  const ack = await exchange(dhcpPacket(mac, xid, MessageType.REQUEST, ipxe, offer), xid, MessageType.ACK);
  if (macOf(ack) !== mac) throw new Error(`ACK for ${macOf(ack)}`);
  return ack;
}

/**
 * `agent`: the connection to reuse, as iPXE does (its src/net/tcp/httpconn.c pools a connection
 * for 10 s and takes it again for the next request to the same host and port); without one, a
 * connection of its own that closes after the answer, as the agent's busybox wget does.
 */
interface HttpInit { method?: string; body?: string; headers?: Record<string, string>; agent?: http.Agent }

/** One request from `from` (node's fetch cannot choose its source address). */
function request(from: string, url: string, init: HttpInit): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers = { ...init.headers, ...(init.body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(init.body)) } : {}) };
    const req = http.request(url, { method: init.method ?? 'GET', localAddress: from, agent: init.agent ?? false, headers }, resolve);
    req.on('error', reject);
    req.end(init.body);
  });
}

async function httpFrom(from: string, url: string, init: HttpInit = {}): Promise<http.IncomingMessage> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await request(from, url, init);
      if ((res.statusCode ?? 0) >= 500 && attempt < 4) { httpRetries++; res.resume(); continue; }
      return res;
    } catch (err) {
      if (attempt >= 4) throw err;
      httpRetries++;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}

async function text(res: http.IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of res) s += chunk;
  return s;
}

async function download(from: string, url: string, agent: http.Agent): Promise<number> {
  const res = await httpFrom(from, url, { agent });
  if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode}`);
  let bytes = 0;
  for await (const chunk of res) bytes += (chunk as Buffer).length;
  if (bytes !== Number(res.headers['content-length'])) throw new Error(`${url}: ${bytes} of ${res.headers['content-length']} bytes`);
  return bytes;
}

const FACTS = (mac: string) => JSON.stringify({
  cpus: 4, memory_mib: 8192, arch: 'x86_64', disks: [{ name: 'sda', size_bytes: 256e9, serial: `S-${mac}` }],
  nics: [{ name: 'eth0', mac, link: true }], dmi: { vendor: 'Storm', product: 'Rack', serial: mac },
});

interface ClientResult { mac: string; ok: boolean; stoppedAt?: Phase; error?: string; ms: Partial<Record<Phase, number>>; bytes: number }

async function machine(n: number): Promise<ClientResult> {
  const mac = stormMac(n);
  const r: ClientResult = { mac, ok: false, ms: {}, bytes: 0 };
  let phase: Phase = 'dhcp_pxe';
  const timed = async <T>(p: Phase, fn: () => Promise<T>): Promise<T> => {
    phase = p;
    const t = performance.now();
    const v = await fn();
    r.ms[p] = Math.round(performance.now() - t);
    return v;
  };
  try {
    await new Promise((res) => setTimeout(res, Math.random() * spreadMs));
    const first = await timed('dhcp_pxe', () => dora(mac, false));
    if (!first.file) throw new Error('no boot file for the PXE ROM');
    const loader = await timed('tftp', () => tftpGet(first.siaddr, 69, first.file, { options: [{ name: 'blksize', value: '1468' }, { name: 'tsize', value: '0' }], timeoutMs: 1000, maxRetries: 8, bindAddress: first.yiaddr }));
    if (loader.error || !loader.data.length) throw new Error(`TFTP ${first.file}: ${loader.error?.message ?? 'empty'}`);
    r.bytes += loader.data.length;
    const second = await timed('dhcp_ipxe', () => dora(mac, true));
    if (!/^http:\/\/.*\.ipxe$/.test(second.file)) throw new Error(`iPXE was handed ${second.file}`);
    const from = second.yiaddr;
    // iPXE runs its script's commands one after the other, on the one connection it keeps.
    const ipxe = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const script = await timed('script', async () => text(await httpFrom(from, second.file, { agent: ipxe })));
    const kernel = /^kernel (\S+) (.*)$/m.exec(script);
    const initrd = /^initrd (?:--name \S+ )?(\S+)$/m.exec(script);
    if (!kernel || !initrd) throw new Error(`no agent in the script: ${script.slice(0, 200)}`);
    r.bytes += await timed('kernel_initrd', async () => (await download(from, kernel[1]!, ipxe)) + (await download(from, initrd[1]!, ipxe)));
    ipxe.destroy(); // the booted kernel has no iPXE left to keep it
    const base = /rackhand\.url=(\S+)/.exec(kernel[2]!)![1]!;
    const nonce = /rackhand\.nonce=(\S+)/.exec(kernel[2]!)![1]!;
    await timed('agent', async () => {
      const trade = await httpFrom(from, `${base}/v1/agent/nonce`, { method: 'POST', body: new URLSearchParams({ nonce }).toString() });
      const traded = await text(trade);
      const token = /^agent_token='([^']+)'$/m.exec(traded)?.[1];
      if (trade.statusCode !== 200 || !token) throw new Error(`nonce: HTTP ${trade.statusCode} ${traded}`);
      const headers = { 'x-rackhand-agent-token': token };
      const next = await text(await httpFrom(from, `${base}/v1/agent/next`, { headers }));
      if (!/^step='inspect'$/m.test(next)) throw new Error(`next: ${next}`);
      const report = await httpFrom(from, `${base}/v1/agent/report`, { method: 'POST', headers, body: new URLSearchParams({ step: 'inspect', status: 'done', facts: FACTS(mac) }).toString() });
      if (report.statusCode !== 200) throw new Error(`report: HTTP ${report.statusCode} ${await text(report)}`);
      report.resume();
    });
    r.ok = true;
  } catch (err) {
    r.stoppedAt = phase;
    r.error = (err as Error).message;
  }
  return r;
}

const started = performance.now();
const results = await Promise.all(Array.from({ length: count }, (_, n) => machine(firstMachine + n)));
const wallMs = Math.round(performance.now() - started);
sock.close();

const pct = (xs: number[], q: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]! : 0);
const phases = Object.fromEntries(PHASES.map((p) => {
  const xs = results.flatMap((r) => (r.ms[p] === undefined ? [] : [r.ms[p]!]));
  return [p, { p50: pct(xs, 0.5), p95: pct(xs, 0.95), max: pct(xs, 1) }];
}));
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({
  clientCpuMs: Math.round((cpu.user + cpu.system) / 1000), clients: count, served: results.filter((r) => r.ok).length, wallMs, bytes: results.reduce((a, r) => a + r.bytes, 0),
  dhcpRetransmits, httpRetries, phases, failures: results.filter((r) => !r.ok).map(({ mac, stoppedAt, error }) => ({ mac, stoppedAt, error })),
}) + '\n');
