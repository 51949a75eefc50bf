// HTTP(S) to one Redfish service. node:http/https rather than fetch: Node 20's fetch takes a
// per-call CA only through an undici Agent, and undici is not importable without adding the
// package. An https.Agent with `ca` gives the same thing: TLS verified by default, against the
// machine's own CA file when given, unverified only with the explicit insecure flag. Plain
// http:// is used only when the address says so (validate warns: credentials travel in clear).
//
// Two things here exist for safety rather than convenience:
// - every failure says whether the request certainly never reached the BMC (`notSent`): a
//   refused connection or a TLS failure did not, a timeout after connecting may have;
// - a request that changes something can ask for a fresh connection, so a keep-alive socket the
//   BMC closed in the meantime cannot turn into an "error" for a request the BMC never saw.
// Redirects are followed only within the BMC's own host, at most MAX_REDIRECTS times.
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { PowerError } from './errors.js';
import { codeForStatus, redfishErrorText } from './redfish-map.js';

export interface RedfishEndpoint {
  machine: string;
  /** host or host:port (HTTPS), or a full https:// or http:// base URL. */
  address: string;
  port?: number;
  ca_file?: string;
  insecure?: boolean;
  baseDir?: string;
}

export interface RedfishResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** Where the answer came from, after redirects: error texts name this host. */
  url: URL;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: unknown;
  timeout?: number;
  signal?: AbortSignal;
  /** A new connection for this request only (requests that must not be sent twice). */
  fresh?: boolean;
}

const NET_UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE']);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
export const MAX_REDIRECTS = 5;
/** A BMC's answer is foreign input: larger than this is refused, not buffered. */
export const MAX_BODY_BYTES = 4 << 20;

/** The base URL an address stands for: HTTPS unless the address spells out http://. */
export function redfishBase(address: string, port?: number): URL {
  const raw = /^https?:\/\//i.test(address) ? address : `https://${address}${port ? `:${port}` : ''}`;
  const url = new URL(raw);
  if (port && /^https?:\/\//i.test(address) && !url.port) url.port = String(port);
  return url;
}

type Agent = HttpsAgent | HttpAgent;

export class RedfishHttp {
  readonly base: URL;
  private agent: Agent | undefined;
  private ca: string | undefined;

  constructor(private readonly ep: RedfishEndpoint) {
    this.base = redfishBase(ep.address, ep.port);
  }

  get key(): string { return `${this.base.hostname}:${this.base.port || (this.base.protocol === 'https:' ? 443 : 80)}`; }

  get plainHttp(): boolean { return this.base.protocol === 'http:'; }

  /** The agent, made on first use: the CA file is read then, so a missing one is a call error. */
  private async getAgent(fresh: boolean): Promise<Agent> {
    if (this.agent && !fresh) return this.agent;
    if (this.plainHttp) {
      if (fresh) return new HttpAgent({ keepAlive: false });
      this.agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
      return this.agent;
    }
    if (this.ep.ca_file && this.ca === undefined) {
      const path = isAbsolute(this.ep.ca_file) ? this.ep.ca_file : resolve(this.ep.baseDir ?? process.cwd(), this.ep.ca_file);
      try { this.ca = await readFile(path, 'utf8'); } catch (err) {
        throw new PowerError('CONFIG', this.ep.machine, 'tls', `ca_file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`).beforeSending();
      }
    }
    const opts = { ca: this.ca, rejectUnauthorized: !this.ep.insecure };
    if (fresh) return new HttpsAgent({ ...opts, keepAlive: false });
    this.agent = new HttpsAgent({ ...opts, keepAlive: true, maxSockets: 1 });
    return this.agent;
  }

  /** One request, redirects within the BMC's host followed. Any HTTP status resolves. */
  async call(method: string, path: string, action: string, o: RequestOptions = {}): Promise<RedfishResponse> {
    let url = new URL(path, this.base);
    let verb = method;
    let body = o.body;
    for (let hop = 0; ; hop++) {
      const r = await this.once(verb, url, action, { ...o, body });
      const location = header(r, 'location');
      if (!REDIRECTS.has(r.status) || !location) return r;
      const next = new URL(location, url);
      if (next.hostname !== url.hostname) {
        // Credentials go to the BMC only; a redirect elsewhere is refused, not followed.
        throw new PowerError('BMC_ERROR', this.ep.machine, action, `${verb} ${url.host}${url.pathname}: HTTP ${r.status} to another host (${next.host}): not followed`).beforeSending();
      }
      if (hop + 1 > MAX_REDIRECTS) {
        throw new PowerError('BMC_ERROR', this.ep.machine, action, `${verb} ${url.host}${url.pathname}: more than ${MAX_REDIRECTS} redirects`).beforeSending();
      }
      // 303 asks for a GET of the other place; the others repeat the request there. The BMC did
      // not act on a request it redirected, so repeating a POST is not sending it twice.
      if (r.status === 303) { verb = 'GET'; body = undefined; }
      url = next;
    }
  }

  private async once(method: string, url: URL, action: string, o: RequestOptions): Promise<RedfishResponse> {
    const agent = await this.getAgent(o.fresh ?? false);
    const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    const headers: Record<string, string> = { Accept: 'application/json', 'OData-Version': '4.0', ...o.headers };
    if (payload) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = String(payload.length); }
    const timeout = o.timeout ?? 15_000;
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const where = `${method} ${url.host}${url.pathname}`;
    let deadline: NodeJS.Timeout | undefined;
    return new Promise<RedfishResponse>((resolvePromise, reject) => {
      // Connected (TLS included) means the request may reach the BMC from here on.
      let connected = false;
      const fail = (err: Error) => reject(this.netError(err, action, where, connected));
      const req: ClientRequest = send(url, { method, headers, agent: agent as HttpAgent, timeout, signal: o.signal }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) { res.destroy(); reject(new PowerError('BMC_ERROR', this.ep.machine, action, `${where}: answer larger than ${MAX_BODY_BYTES} bytes`)); return; }
          chunks.push(c);
        });
        res.on('error', fail);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = undefined;
          if (text) { try { body = JSON.parse(text); } catch { body = text; } }
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body, url });
        });
      });
      req.on('socket', (socket) => {
        const tls = url.protocol === 'https:';
        // A kept-alive socket is connected already.
        if (!socket.connecting && (!tls || (socket as { encrypted?: boolean }).encrypted)) connected = true;
        socket.once(tls ? 'secureConnect' : 'connect', () => { connected = true; });
      });
      // `timeout` bounds the whole exchange: the socket's own timeout only notices silence, and a
      // BMC (or whoever answers in its place) dripping a byte at a time would never trip it.
      const expire = () => req.destroy(Object.assign(new Error(`no answer within ${timeout} ms`), { code: 'ETIMEDOUT' }));
      deadline = setTimeout(expire, timeout);
      req.on('timeout', expire);
      req.on('error', fail);
      req.end(payload);
    }).finally(() => clearTimeout(deadline));
  }

  /** Like call, but a non-2xx answer becomes a PowerError with the BMC's own words. */
  async ok(method: string, path: string, action: string, o: RequestOptions = {}, secrets: readonly string[] = []): Promise<RedfishResponse> {
    const r = await this.call(method, path, action, o);
    if (r.status >= 200 && r.status < 300) return r;
    throw this.httpError(r, method, action, secrets);
  }

  /** A non-2xx answer as a PowerError naming the host and path actually called. */
  httpError(r: RedfishResponse, method: string, action: string, secrets: readonly string[] = []): PowerError {
    const { text, messageIds } = redfishErrorText(r.body);
    // The BMC's words go into events and logs: bounded.
    const said = (text || (typeof r.body === 'string' ? r.body : '')).slice(0, 300);
    const e = new PowerError(codeForStatus(r.status, messageIds), this.ep.machine, action, `${method} ${r.url.host}${r.url.pathname}: HTTP ${r.status}${said ? `: ${said}` : ''}`, secrets);
    // An answer that is a refusal means the BMC did not act: 4xx, 501 (not implemented) and 503
    // (not now). A 500, 502 or 504 may come after the BMC (or something before it) started.
    if ((r.status >= 400 && r.status < 500) || r.status === 501 || r.status === 503) e.beforeSending();
    return e;
  }

  private netError(err: Error, action: string, where: string, connected: boolean): PowerError {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    let e: PowerError;
    if (code === 'ETIMEDOUT' || err.name === 'AbortError') e = new PowerError('TIMEOUT', this.ep.machine, action, `${where}: ${err.message}`);
    else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      e = new PowerError('CONFIG', this.ep.machine, action, `${where}: TLS certificate not trusted (${code}); give power.ca_file, or insecure: true for a lab`);
    } else e = new PowerError('UNREACHABLE', this.ep.machine, action, `${where}: ${NET_UNREACHABLE.has(code) ? code : code || err.message}`);
    return connected ? e : e.beforeSending();
  }

  close(): void { this.agent?.destroy(); this.agent = undefined; }
}

export function header(r: { headers: Record<string, string | string[] | undefined> }, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
