// HTTPS to one Redfish service. node:https rather than fetch: Node 20's fetch takes a per-call
// CA only through an undici Agent, and undici is not importable without adding the package.
// An https.Agent with `ca` gives the same thing: TLS verified by default, against the machine's
// own CA file when given, unverified only with the explicit insecure flag.
import { Agent, request } from 'node:https';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { PowerError } from './errors.js';
import { codeForStatus, redfishErrorText } from './redfish-map.js';

export interface RedfishEndpoint {
  machine: string;
  /** host or host:port, or a full https:// base URL. */
  address: string;
  port?: number;
  ca_file?: string;
  insecure?: boolean;
  baseDir?: string;
}

export interface RedfishResponse { status: number; headers: Record<string, string | string[] | undefined>; body: unknown }

export interface RequestOptions { headers?: Record<string, string>; body?: unknown; timeout?: number; signal?: AbortSignal }

const NET_UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE']);

export class RedfishHttp {
  readonly base: URL;
  private agent: Agent | undefined;

  constructor(private readonly ep: RedfishEndpoint) {
    const raw = /^https?:\/\//.test(ep.address) ? ep.address : `https://${ep.address}${ep.port ? `:${ep.port}` : ''}`;
    this.base = new URL(raw);
  }

  get key(): string { return `${this.base.hostname}:${this.base.port || (this.base.protocol === 'https:' ? 443 : 80)}`; }

  /** The agent, made on first use: the CA file is read then, so a missing one is a call error. */
  private async getAgent(): Promise<Agent> {
    if (this.agent) return this.agent;
    let ca: string | undefined;
    if (this.ep.ca_file) {
      const path = isAbsolute(this.ep.ca_file) ? this.ep.ca_file : resolve(this.ep.baseDir ?? process.cwd(), this.ep.ca_file);
      try { ca = await readFile(path, 'utf8'); } catch (err) {
        throw new PowerError('CONFIG', this.ep.machine, 'tls', `ca_file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, ca, rejectUnauthorized: !this.ep.insecure });
    return this.agent;
  }

  async call(method: string, path: string, action: string, o: RequestOptions = {}): Promise<RedfishResponse> {
    const agent = await this.getAgent();
    const url = new URL(path, this.base);
    const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    const headers: Record<string, string> = { Accept: 'application/json', 'OData-Version': '4.0', ...o.headers };
    if (payload) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = String(payload.length); }
    const timeout = o.timeout ?? 15_000;
    return new Promise<RedfishResponse>((resolvePromise, reject) => {
      const req = request(url, { method, headers, agent, timeout, signal: o.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(this.netError(err, action)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = undefined;
          if (text) { try { body = JSON.parse(text); } catch { body = text; } }
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeout} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (err) => reject(this.netError(err, action)));
      req.end(payload);
    });
  }

  /** Like call, but a non-2xx answer becomes a PowerError with the BMC's own words. */
  async ok(method: string, path: string, action: string, o: RequestOptions = {}, secrets: readonly string[] = []): Promise<RedfishResponse> {
    const r = await this.call(method, path, action, o);
    if (r.status >= 200 && r.status < 300) return r;
    throw this.httpError(r, method, path, action, secrets);
  }

  httpError(r: RedfishResponse, method: string, path: string, action: string, secrets: readonly string[] = []): PowerError {
    const { text, messageIds } = redfishErrorText(r.body);
    const said = text || (typeof r.body === 'string' ? r.body.slice(0, 200) : '');
    return new PowerError(codeForStatus(r.status, messageIds), this.ep.machine, action, `${method} ${path}: HTTP ${r.status}${said ? `: ${said}` : ''}`, secrets);
  }

  private netError(err: Error, action: string): PowerError {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const where = `${this.base.host}`;
    if (code === 'ETIMEDOUT' || err.name === 'AbortError') return new PowerError('TIMEOUT', this.ep.machine, action, `${where}: ${err.message}`);
    if (NET_UNREACHABLE.has(code)) return new PowerError('UNREACHABLE', this.ep.machine, action, `${where}: ${code}`);
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      return new PowerError('CONFIG', this.ep.machine, action, `${where}: TLS certificate not trusted (${code}); give power.ca_file, or insecure: true for a lab`);
    }
    return new PowerError('UNREACHABLE', this.ep.machine, action, `${where}: ${code || err.message}`);
  }

  close(): void { this.agent?.destroy(); this.agent = undefined; }
}
