// How Rackhand authenticates to each Redfish BMC: one session per BMC and user, reused by every
// call and every status poll until the BMC refuses it (then one new login), logged out when idle
// and at shutdown. Real BMCs log each login and cap concurrent sessions (often 4 to 8); a login
// per call, each 1 s poll included, filled those logs and hit those caps.
//
// Where sessions live is read from the service root (`Links.Sessions`, readable without login);
// `auto` falls back to basic auth when the service lists no sessions, answers the login with
// 404/405/501, demands basic auth for it (401 with `WWW-Authenticate: Basic`), or answers it
// without a token. What was learned is kept per BMC, so the probe is not repeated per call.
import { createHash } from 'node:crypto';
import { PowerError } from './errors.js';
import { header, type RedfishHttp } from './redfish-http.js';

export type AuthMode = 'auto' | 'session' | 'basic';

export interface AuthRequest {
  machine: string;
  username: string;
  password: string;
  mode: AuthMode;
  action: string;
  /** Bound of each login request (ms). */
  timeout: number;
}

/** Headers to send and every secret they carry (for scrubbing). */
export interface Credentials { headers: Record<string, string>; secrets: string[]; token?: string }

interface Entry {
  key: string;
  http: RedfishHttp;
  machine: string;
  /** Learned: this BMC takes basic auth only (auto mode). */
  basicOnly: boolean;
  /** From the service root: null when it lists no sessions. */
  sessionsPath?: string | null;
  token?: string;
  location?: string;
  login?: Promise<void>;
  timer?: NodeJS.Timeout;
}

export const DEFAULT_SESSIONS_PATH = '/redfish/v1/SessionService/Sessions';
const LOGOUT_TIMEOUT_MS = 5_000;

export interface SessionCounters { logins: number; logouts: number; refused: number }

export class RedfishSessions {
  private readonly entries = new Map<string, Entry>();
  readonly counters: SessionCounters = { logins: 0, logouts: 0, refused: 0 };

  /** idleMs: a session unused this long is logged out (the next call logs in again). */
  constructor(private readonly idleMs = 60_000) {}

  /** Credentials for one request: the BMC's current session, made if there is none. */
  async credentials(http: RedfishHttp, req: AuthRequest): Promise<Credentials> {
    const basic = Buffer.from(`${req.username}:${req.password}`).toString('base64');
    const secrets = [req.password, basic];
    const basicAuth: Credentials = { headers: { Authorization: `Basic ${basic}` }, secrets };
    if (req.mode === 'basic') return basicAuth;
    const entry = this.entry(http, req);
    if (!entry.token && !entry.basicOnly) {
      entry.login ??= this.login(entry, req).finally(() => { entry.login = undefined; });
      await entry.login;
    }
    if (entry.basicOnly) return basicAuth;
    if (!entry.token) throw new PowerError('AUTH_FAILED', req.machine, req.action, `${http.base.host}: no session`, secrets).beforeSending();
    this.touch(entry);
    return { headers: { 'X-Auth-Token': entry.token }, secrets: [...secrets, entry.token], token: entry.token };
  }

  /** The BMC answered 401 to a request with this token: it forgot the session. */
  refused(http: RedfishHttp, req: AuthRequest, token: string): void {
    const entry = this.entries.get(this.keyOf(http, req));
    if (entry?.token !== token) return;
    this.counters.refused++;
    entry.token = undefined;
    entry.location = undefined;
    clearTimeout(entry.timer);
  }

  /** Sessions currently held (for tests and metrics). */
  get open(): number { return [...this.entries.values()].filter((e) => e.token).length; }

  /** Logs out of every BMC (daemon shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.logout(e)));
  }

  private keyOf(http: RedfishHttp, req: AuthRequest): string {
    // The password's digest is in the key: after a rotation the next call logs in anew and the
    // old session idles out, instead of living on under credentials nobody holds any more.
    const digest = createHash('sha256').update(req.password).digest('hex').slice(0, 16);
    return `${http.base.origin} ${req.username} ${digest} ${req.mode}`;
  }

  private entry(http: RedfishHttp, req: AuthRequest): Entry {
    const key = this.keyOf(http, req);
    let e = this.entries.get(key);
    if (!e) { e = { key, http, machine: req.machine, basicOnly: false }; this.entries.set(key, e); }
    return e;
  }

  private touch(e: Entry): void {
    clearTimeout(e.timer);
    e.timer = setTimeout(() => { void this.logout(e); }, this.idleMs);
    e.timer.unref();
  }

  private async login(e: Entry, req: AuthRequest): Promise<void> {
    const secrets = [req.password];
    const fail = (code: PowerError['code'], text: string) => new PowerError(code, req.machine, req.action, `${e.http.base.host}: ${text}`, secrets).beforeSending();
    try {
      e.sessionsPath ??= await this.findSessions(e, req);
      if (e.sessionsPath === null) {
        if (req.mode === 'session') throw fail('UNSUPPORTED', 'the service root lists no session service (Links.Sessions); use auth: basic or auto');
        e.basicOnly = true;
        return;
      }
      const path = e.sessionsPath ?? DEFAULT_SESSIONS_PATH;
      // No abort signal: a login cut off after the BMC made the session would leak it.
      const r = await e.http.call('POST', path, req.action, { body: { UserName: req.username, Password: req.password }, timeout: req.timeout });
      const token = header(r, 'x-auth-token');
      if (r.status >= 200 && r.status < 300 && token) {
        const loc = header(r, 'location') ?? (r.body as { '@odata.id'?: unknown } | undefined)?.['@odata.id'];
        e.token = token;
        e.location = typeof loc === 'string' ? new URL(loc, r.url).pathname : undefined;
        this.counters.logins++;
        return;
      }
      const ok = r.status >= 200 && r.status < 300;
      const noService = [404, 405, 501].includes(r.status);
      const wantsBasic = r.status === 401 && /\bbasic\b/i.test(header(r, 'www-authenticate') ?? '');
      if (req.mode === 'auto' && (ok || noService || wantsBasic)) { e.basicOnly = true; return; }
      if (ok) throw fail('UNSUPPORTED', `POST ${path}: HTTP ${r.status} without an X-Auth-Token: no usable sessions; use auth: basic`);
      throw e.http.httpError(r, 'POST', req.action, secrets).beforeSending();
    } catch (err) {
      throw err instanceof PowerError ? err.beforeSending() : err;
    }
  }

  /** The sessions collection the service root names; null: it names none; undefined: unknown. */
  private async findSessions(e: Entry, req: AuthRequest): Promise<string | null | undefined> {
    const r = await e.http.call('GET', '/redfish/v1/', req.action, { timeout: req.timeout });
    if (r.status < 200 || r.status >= 300 || typeof r.body !== 'object' || r.body === null) return undefined;
    const root = r.body as { Links?: { Sessions?: { '@odata.id'?: unknown } }; SessionService?: unknown };
    const path = root.Links?.Sessions?.['@odata.id'];
    if (typeof path === 'string' && path.startsWith('/')) return path;
    return null;
  }

  private async logout(e: Entry): Promise<void> {
    clearTimeout(e.timer);
    const { token, location } = e;
    e.token = undefined;
    e.location = undefined;
    if (!token || !location) return;
    this.counters.logouts++;
    await e.http.call('DELETE', location, 'logout', { headers: { 'X-Auth-Token': token }, timeout: LOGOUT_TIMEOUT_MS }).catch(() => undefined);
  }
}

/** The process-wide sessions: every driver for one BMC shares them, as they share its queue. */
export const redfishSessions = new RedfishSessions();
