// A small, in-memory Redfish BMC on 127.0.0.1 (node:http, or node:https with a throwaway
// self-signed certificate) that misbehaves the ways real BMCs do, one fault per option, so the
// Redfish driver can be tested against each without hardware or QEMU. It serves a service root
// (Links.Sessions at a configurable path), SessionService with X-Auth-Token sessions (and Basic
// auth everywhere), ComputerSystems with PowerState, Boot and the Reset action, and TaskService.
// The systems, ETags, PATCH, Reset and tasks are in faulty-bmc-systems.ts; this file does HTTP,
// auth, sessions, routing and the journal a test asserts on.
//
// Behaviour without faults: the service root (/redfish/v1 or /redfish/v1/) needs no auth; all
// else needs Basic or a live X-Auth-Token (else 401 with WWW-Authenticate: Basic). Session login
// POST {UserName, Password} → 201 + X-Auth-Token + Location; DELETE Location → 204. Every system
// has an ETag (header, and @odata.etag equal to it) that changes whenever the system changes; a
// PATCH with a wrong If-Match → 412, without one it passes; PATCH answers 200 with a Success
// message. Reset → 204; the power lands powerDelayMs later (a PowerCycle or ForceRestart is Off
// for that time, then On); a later Reset replaces a pending one; On when On is a no-op 204.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { makeSelfSignedCert } from './self-signed-cert.js';
import { tempDir } from './tmp.js';
import { SystemsModel, redfishError, type BmcSystem, type BootSettings, type Counters, type FaultyBmcFaults, type PowerState, type Reply } from './faulty-bmc-systems.js';

export type { BmcSystem, FaultyBmcFaults, Counters } from './faulty-bmc-systems.js';

export interface FaultyBmcOptions {
  /** Default: one system, Id '1', Name 'node-1', Off. */
  systems?: { id: string; name?: string; uuid?: string; powerState?: PowerState; boot?: Partial<BootSettings> }[];
  username?: string; // default admin
  password?: string; // default secret
  tls?: boolean;
  /** How long a power change takes to land (default 300 ms). */
  powerDelayMs?: number;
  /** Where Links.Sessions points (default /redfish/v1/SessionService/Sessions). */
  sessionsPath?: string;
  faults?: FaultyBmcFaults;
}

export interface JournalEntry {
  method: string;
  path: string;
  status: number;
  /** What the request carried (not whether it was accepted: see status). */
  auth: 'none' | 'basic' | 'session';
  ifMatch?: string;
  body?: unknown;
  start: number;
  end: number;
}

export interface FaultyBmc {
  url: string;
  port: number;
  host: string;
  caFile?: string;
  username: string;
  password: string;
  /** Change at will between requests; read at each request. */
  faults: FaultyBmcFaults;
  systems: BmcSystem[];
  journal: JournalEntry[];
  counters: Counters & { liveSessions(): number };
  close(): Promise<void>;
}

interface Session { id: string; token: string; user: string; lastUsed: number }

const REALM = { 'WWW-Authenticate': 'Basic realm="FaultyBMC"' };

export async function startFaultyBmc(opts: FaultyBmcOptions = {}): Promise<FaultyBmc> {
  const username = opts.username ?? 'admin';
  const password = opts.password ?? 'secret';
  const sessionsPath = trimSlash(opts.sessionsPath ?? '/redfish/v1/SessionService/Sessions');
  const faults: FaultyBmcFaults = { ...opts.faults };
  const systems: BmcSystem[] = (opts.systems ?? [{ id: '1', name: 'node-1' }]).map((s) => ({
    id: s.id, name: s.name ?? s.id, uuid: s.uuid ?? randomUUID(), powerState: s.powerState ?? 'Off',
    boot: { BootSourceOverrideEnabled: 'Disabled', BootSourceOverrideTarget: 'None', BootSourceOverrideMode: 'UEFI', ...s.boot },
    pendingBoot: {}, version: 1, sdVersion: 1,
  }));
  const sessions = new Map<string, Session>();
  let sessionSeq = 0;
  const counters: FaultyBmc['counters'] = {
    resets: 0, resetTypes: [], patchesIgnored: 0, sessionsCreated: 0, sessionsDeleted: 0, sessionsExpired: 0,
    liveSessions: () => { sweep(); return sessions.size; },
  };
  const model = new SystemsModel(systems, faults, counters, opts.powerDelayMs ?? 300);
  const journal: JournalEntry[] = [];
  const delays = new Set<() => void>();

  function sweep(): void {
    const idle = faults.sessionIdleExpiryMs;
    if (idle === undefined) return;
    for (const [id, s] of sessions) if (Date.now() - s.lastUsed > idle) { sessions.delete(id); counters.sessionsExpired++; }
  }

  function basicUser(req: IncomingMessage): string | undefined {
    const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    const [user, ...rest] = Buffer.from(m[1]!, 'base64').toString('utf8').split(':');
    return user === username && rest.join(':') === password ? user : undefined;
  }

  /** undefined when the request may proceed, else the 401. */
  function authorize(req: IncomingMessage): Reply | undefined {
    const token = req.headers['x-auth-token'];
    if (typeof token === 'string') {
      sweep();
      const s = [...sessions.values()].find((x) => x.token === token);
      if (s) { s.lastUsed = Date.now(); return undefined; }
      return redfishError(401, 'NoValidSession', 'There is no valid session established with the implementation.', REALM);
    }
    if (req.headers.authorization) {
      return basicUser(req) ? undefined : redfishError(401, 'ResourceAtUriUnauthorized', 'While accessing the resource, the service received an authorization error Unauthorized.', REALM);
    }
    return redfishError(401, 'NoValidSession', 'There is no valid session established with the implementation.', REALM);
  }

  function login(req: IncomingMessage, body: unknown): Reply {
    const mode = faults.sessions ?? 'normal';
    if (mode === 'none') return notFound(sessionsPath);
    if (mode === 'no-token') return { status: 204 };
    let user: string | undefined;
    if (mode === 'basic-401') {
      if (!req.headers.authorization) return redfishError(401, 'NoValidSession', 'There is no valid session established with the implementation.', REALM);
      user = basicUser(req);
    } else {
      const b = (body ?? {}) as { UserName?: unknown; Password?: unknown };
      user = b.UserName === username && b.Password === password ? username : undefined;
    }
    if (!user) return redfishError(401, 'ResourceAtUriUnauthorized', 'While accessing the resource, the service received an authorization error Unauthorized.', REALM);
    sweep();
    if (faults.maxSessions !== undefined && sessions.size >= faults.maxSessions) {
      return redfishError(503, 'SessionLimitExceeded', 'The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation.');
    }
    const s: Session = { id: String(++sessionSeq), token: randomBytes(16).toString('hex'), user, lastUsed: Date.now() };
    sessions.set(s.id, s);
    counters.sessionsCreated++;
    return { status: 201, headers: { 'X-Auth-Token': s.token, Location: `${sessionsPath}/${s.id}` }, body: sessionBody(s) };
  }

  function sessionBody(s: Session): unknown {
    return { '@odata.id': `${sessionsPath}/${s.id}`, '@odata.type': '#Session.v1_3_0.Session', Id: s.id, Name: 'User Session', UserName: s.user };
  }

  function root(): Reply {
    const withSessions = faults.sessions !== 'none';
    return { status: 200, body: {
      '@odata.id': '/redfish/v1/', '@odata.type': '#ServiceRoot.v1_11_0.ServiceRoot', Id: 'RootService', Name: 'Faulty BMC',
      RedfishVersion: '1.11.0', UUID: '6a1b0e39-4d0f-4b55-9d56-1d2b7f4c0a11',
      Systems: { '@odata.id': '/redfish/v1/Systems' }, TaskService: { '@odata.id': '/redfish/v1/TaskService' },
      ...(withSessions ? { SessionService: { '@odata.id': '/redfish/v1/SessionService' }, Links: { Sessions: { '@odata.id': sessionsPath } } } : {}),
    } };
  }

  function route(req: IncomingMessage, method: string, path: string, body: unknown): Reply {
    if (path === '/redfish') return only(method, ['GET'], () => ({ status: 200, body: { v1: '/redfish/v1/' } }));
    if (path === '/redfish/v1') return only(method, ['GET'], root);
    if (path === sessionsPath && method === 'POST') return login(req, body);
    const denied = authorize(req);
    if (denied) return denied;
    const sessionsOn = faults.sessions !== 'none';
    if (path === '/redfish/v1/SessionService' && sessionsOn) {
      return only(method, ['GET'], () => ({ status: 200, body: { '@odata.id': path, '@odata.type': '#SessionService.v1_1_8.SessionService',
        Id: 'SessionService', Name: 'Session Service', ServiceEnabled: true, SessionTimeout: Math.round((faults.sessionIdleExpiryMs ?? 1_800_000) / 1000),
        Sessions: { '@odata.id': sessionsPath } } }));
    }
    if (path === sessionsPath && sessionsOn) return only(method, ['GET', 'POST'], () => collection(path, 'SessionCollection', [...sessions.keys()].map((id) => `${path}/${id}`)));
    if (path.startsWith(`${sessionsPath}/`) && sessionsOn) {
      const s = sessions.get(path.slice(sessionsPath.length + 1));
      if (!s) return notFound(path);
      return only(method, ['GET', 'DELETE'], () => {
        if (method === 'GET') return { status: 200, body: sessionBody(s) };
        sessions.delete(s.id);
        counters.sessionsDeleted++;
        return { status: 204 };
      });
    }
    if (path === '/redfish/v1/Systems') return only(method, ['GET'], () => collection(path, 'ComputerSystemCollection', systems.map((s) => model.path(s))));
    const sm = /^\/redfish\/v1\/Systems\/([^/]+)(\/.*)?$/.exec(path);
    if (sm) {
      const key = decodeURIComponent(sm[1]!);
      const rest = sm[2] ?? '';
      const sys = systems.find((s) => s.id === key);
      if (!sys) {
        const named = faults.redirect ? systems.find((s) => s.name === key) : undefined;
        if (!named) return notFound(path);
        const to = `${model.path(named)}${rest}`;
        return { status: 307, headers: { Location: faults.redirectOtherHost ? `${scheme}://127.0.0.2:${port}${to}` : to } };
      }
      if (rest === '') return only(method, ['GET', 'PATCH'], () => (method === 'GET' ? model.render(sys) : model.patch(sys, false, ifMatchOf(req), body)));
      if (rest === '/SD' && faults.settingsObject) {
        return only(method, ['GET', 'PATCH'], () => (method === 'GET' ? model.renderSettings(sys) : model.patch(sys, true, ifMatchOf(req), body)));
      }
      if (rest === '/Actions/ComputerSystem.Reset') return only(method, ['POST'], () => model.reset(sys, body));
      return notFound(path);
    }
    if (path === '/redfish/v1/TaskService') {
      return only(method, ['GET'], () => ({ status: 200, body: { '@odata.id': path, '@odata.type': '#TaskService.v1_1_4.TaskService',
        Id: 'TaskService', Name: 'Task Service', ServiceEnabled: true, Tasks: { '@odata.id': `${path}/Tasks` } } }));
    }
    if (path === '/redfish/v1/TaskService/Tasks') return only(method, ['GET'], () => collection(path, 'TaskCollection', [...model.tasks.keys()].map((n) => `${path}/${n}`)));
    const tm = /^\/redfish\/v1\/TaskService\/(Tasks|TaskMonitors)\/(\d+)$/.exec(path);
    if (tm) {
      const reply = tm[1] === 'Tasks' ? model.task(Number(tm[2])) : model.monitor(Number(tm[2]));
      return reply ? only(method, ['GET'], () => reply) : notFound(path);
    }
    return notFound(path);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const start = Date.now();
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    let body: unknown;
    let reply: Reply | undefined;
    if (raw.length > 0) {
      try { body = JSON.parse(raw); } catch { reply = redfishError(400, 'MalformedJSON', 'The request body submitted was malformed JSON and could not be parsed by the receiving service.'); }
    }
    const url = new URL(req.url ?? '/', 'http://bmc');
    reply ??= route(req, method, trimSlash(url.pathname), body);
    if (reply.delayMs) await new Promise<void>((r) => { const t = setTimeout(done, reply!.delayMs); function done() { clearTimeout(t); delays.delete(done); r(); } delays.add(done); });
    const headers: Record<string, string> = { 'OData-Version': '4.0', 'Cache-Control': 'no-cache', ...reply.headers };
    const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
    if (text) headers['Content-Type'] = 'application/json; charset=utf-8';
    const ifMatch = ifMatchOf(req);
    journal.push({ method, path: req.url ?? '/', status: reply.status, auth: req.headers['x-auth-token'] ? 'session' : req.headers.authorization ? 'basic' : 'none',
      ...(ifMatch !== undefined ? { ifMatch } : {}), ...(body !== undefined ? { body } : {}), start, end: Date.now() });
    if (!res.destroyed) res.writeHead(reply.status, headers).end(text);
  }

  const cert = opts.tls ? makeSelfSignedCert(tempDir('faulty-bmc')) : undefined;
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: Error) => { if (!res.headersSent) res.writeHead(500).end(String(err.stack)); });
  };
  const server: Server = cert ? createHttpsServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, listener) : createHttpServer(listener);
  const scheme = cert ? 'https' : 'http';
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  const port = (server.address() as { port: number }).port;
  return {
    url: `${scheme}://127.0.0.1:${port}`, port, host: '127.0.0.1', ...(cert ? { caFile: cert.certFile } : {}),
    username, password, faults, systems, journal, counters,
    close: async () => {
      model.dispose();
      for (const done of [...delays]) done();
      await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
    },
  };
}

function only(method: string, allowed: string[], fn: () => Reply): Reply {
  if (allowed.includes(method)) return fn();
  return redfishError(405, 'OperationNotAllowed', `The HTTP method ${method} is not allowed on this resource.`, { Allow: allowed.join(', ') });
}

function notFound(path: string): Reply {
  return redfishError(404, 'ResourceNotFound', `The requested resource of type Resource named ${path} was not found.`);
}

function collection(path: string, type: string, members: string[]): Reply {
  return { status: 200, body: { '@odata.id': path, '@odata.type': `#${type}.${type}`, Name: type,
    'Members@odata.count': members.length, Members: members.map((m) => ({ '@odata.id': m })) } };
}

function ifMatchOf(req: IncomingMessage): string | undefined {
  const v = req.headers['if-match'];
  return typeof v === 'string' ? v : undefined;
}

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
