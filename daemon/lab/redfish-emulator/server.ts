// The lab's Redfish BMC: HTTPS with a throwaway CA, basic and session auth, one ComputerSystem
// per QEMU VM, Reset and one-time boot override applied to the VM's next start, ETags with
// optional If-Match enforcement (as some BMCs demand), errors in the Redfish format.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { QemuVmOptions } from '../qemu.js';
import { makeTls, type TlsMaterial } from './tls.js';
import { EmulatedVm } from './vm.js';
import { collection, computerSystem, etagOf, redfishError, serviceRoot, session, sessionService, type SystemState } from './resources.js';

export interface EmulatedSystemConfig {
  id: string;
  name?: string;
  mac?: string;
  /** The VM behind the system; the emulator adds firmware, boot order and QMP per start. */
  vm: QemuVmOptions;
  resetTypes?: string[];
  bootTargets?: string[];
  bootModes?: string[];
  bootMode?: 'UEFI' | 'Legacy';
}

export interface EmulatorOptions {
  /** Folder for the CA, the VMs' QMP sockets and logs. */
  dir: string;
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  username: string;
  password: string;
  systems: EmulatedSystemConfig[];
  /** PATCH without If-Match → 428, as some BMCs (HPE iLO 5 among them) answer. */
  requireIfMatch?: boolean;
  basicAuth?: boolean;
  sessions?: boolean;
  /** Each mutating request is held this long, so overlapping callers would be visible. */
  actionDelayMs?: number;
  /** Each GET of a ComputerSystem is held this long: a slow BMC, for tests of callers that wait. */
  readDelayMs?: number;
  /** Called with each journal entry once its answer is written (main.ts --journal). */
  onAnswered?: (entry: JournalEntry) => void;
  tls?: TlsMaterial;
}

export interface JournalEntry { method: string; path: string; auth: 'none' | 'basic' | 'session'; start: number; end: number; status: number; body?: unknown }

export interface RedfishEmulator {
  url: string;
  port: number;
  caFile: string;
  ca: string;
  journal: JournalEntry[];
  vms: Map<string, EmulatedVm>;
  systems: Map<string, SystemState>;
  sessionCount(): number;
  close(): Promise<void>;
}

export const DEFAULT_RESET_TYPES = ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle', 'Nmi', 'PushPowerButton'];
const DEFAULT_TARGETS = ['None', 'Pxe', 'Hdd', 'Cd', 'BiosSetup'];

class HttpError extends Error {
  constructor(readonly status: number, readonly body: object, readonly headers: Record<string, string> = {}) { super(String(status)); }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startRedfishEmulator(o: EmulatorOptions): Promise<RedfishEmulator> {
  mkdirSync(o.dir, { recursive: true });
  const tls = o.tls ?? await makeTls(o.dir);
  const uuid = randomUUID();
  const journal: JournalEntry[] = [];
  const sessions = new Map<string, { id: string; user: string }>(); // token → session
  let sessionSeq = 0;
  const vms = new Map<string, EmulatedVm>();
  const systems = new Map<string, SystemState>();
  for (const c of o.systems) {
    vms.set(c.id, new EmulatedVm(c.id, join(o.dir, `vm-${c.id}`), c.vm));
    systems.set(c.id, {
      id: c.id, name: c.name ?? c.id, mac: c.mac, powerState: 'Off',
      boot: { enabled: 'Disabled', target: 'None', mode: c.bootMode ?? 'Legacy' },
      resetTypes: c.resetTypes ?? DEFAULT_RESET_TYPES, bootTargets: c.bootTargets ?? DEFAULT_TARGETS,
      bootModes: c.bootModes ?? ['UEFI', 'Legacy'], version: 1,
    });
  }
  const delay = () => new Promise((r) => setTimeout(r, o.actionDelayMs ?? 0));

  function current(id: string): SystemState {
    const s = systems.get(id);
    if (!s) throw new HttpError(404, redfishError('ResourceMissingAtURI', `The resource at the URI /redfish/v1/Systems/${id} was not found.`, { args: [`/redfish/v1/Systems/${id}`] }));
    const on = vms.get(id)!.running ? 'On' : 'Off';
    if (on !== s.powerState) { s.powerState = on; s.version++; }
    return s;
  }

  function authenticate(req: IncomingMessage): 'basic' | 'session' {
    const token = req.headers['x-auth-token'];
    if (typeof token === 'string' && (o.sessions ?? true) && sessions.has(token)) return 'session';
    const auth = req.headers.authorization;
    if ((o.basicAuth ?? true) && auth?.startsWith('Basic ')) {
      const [user, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      if (sameSecret(user ?? '', o.username) && sameSecret(rest.join(':'), o.password)) return 'basic';
    }
    throw new HttpError(401, redfishError('ResourceAtUriUnauthorized', `While accessing the resource at ${req.url}, the service received an authorization error: invalid credentials.`, { severity: 'Critical' }),
      (o.basicAuth ?? true) ? { 'WWW-Authenticate': 'Basic realm="rackhand-lab"' } : {});
  }

  async function route(req: IncomingMessage, path: string, body: unknown, entry: JournalEntry): Promise<{ status: number; body?: object; headers?: Record<string, string> }> {
    const m = req.method ?? 'GET';
    if (m === 'GET' && path === '/redfish') return { status: 200, body: { v1: '/redfish/v1/' } };
    if (m === 'GET' && path === '/redfish/v1') return { status: 200, body: serviceRoot(uuid) };
    if (m === 'POST' && path === '/redfish/v1/SessionService/Sessions') {
      if (!(o.sessions ?? true)) throw new HttpError(405, redfishError('OperationNotAllowed', 'Sessions are not supported by this service.'));
      const b = body as { UserName?: unknown; Password?: unknown } | undefined;
      if (typeof b?.UserName !== 'string' || typeof b.Password !== 'string') {
        throw new HttpError(400, redfishError('PropertyMissing', 'The property UserName or Password is a required property and must be included in the request.'));
      }
      if (!sameSecret(b.UserName, o.username) || !sameSecret(b.Password, o.password)) {
        throw new HttpError(401, redfishError('ResourceAtUriUnauthorized', 'While accessing the resource at /redfish/v1/SessionService/Sessions, the service received an authorization error: invalid credentials.', { severity: 'Critical' }));
      }
      const id = String(++sessionSeq);
      const token = randomBytes(24).toString('hex');
      sessions.set(token, { id, user: b.UserName });
      return { status: 201, body: session(id, b.UserName), headers: { 'X-Auth-Token': token, Location: `/redfish/v1/SessionService/Sessions/${id}` } };
    }
    entry.auth = authenticate(req);
    if (m === 'GET' && path === '/redfish/v1/Systems') return { status: 200, body: collection('ComputerSystemCollection', '/redfish/v1/Systems', 'Computer System Collection', [...systems.keys()].map((id) => `/redfish/v1/Systems/${id}`)) };
    if (m === 'GET' && path === '/redfish/v1/SessionService') return { status: 200, body: sessionService() };
    if (m === 'GET' && path === '/redfish/v1/SessionService/Sessions') return { status: 200, body: collection('SessionCollection', '/redfish/v1/SessionService/Sessions', 'Session Collection', [...sessions.values()].map((s) => `/redfish/v1/SessionService/Sessions/${s.id}`)) };
    const sess = /^\/redfish\/v1\/SessionService\/Sessions\/([^/]+)$/.exec(path);
    if (sess) {
      const found = [...sessions.entries()].find(([, s]) => s.id === sess[1]);
      if (!found) throw new HttpError(404, redfishError('ResourceMissingAtURI', `The resource at the URI ${path} was not found.`));
      if (m === 'GET') return { status: 200, body: session(found[1].id, found[1].user) };
      if (m === 'DELETE') { sessions.delete(found[0]); return { status: 204 }; }
    }
    const sys = /^\/redfish\/v1\/Systems\/([^/]+)$/.exec(path);
    if (sys && m === 'GET') {
      if (o.readDelayMs) await new Promise((r) => setTimeout(r, o.readDelayMs));
      const s = current(sys[1]!);
      return { status: 200, body: computerSystem(s), headers: { ETag: etagOf(s) } };
    }
    if (sys && m === 'PATCH') return patchSystem(req, current(sys[1]!), body);
    const act = /^\/redfish\/v1\/Systems\/([^/]+)\/Actions\/ComputerSystem\.Reset$/.exec(path);
    if (act && m === 'POST') return reset(current(act[1]!), body);
    throw new HttpError(m === 'GET' ? 404 : 405, redfishError(m === 'GET' ? 'ResourceMissingAtURI' : 'OperationNotAllowed', `${m} ${path} is not supported by this service.`));
  }

  async function patchSystem(req: IncomingMessage, s: SystemState, body: unknown) {
    const ifMatch = req.headers['if-match'];
    if (o.requireIfMatch && !ifMatch) throw new HttpError(428, redfishError('PreconditionRequired', 'A precondition header or annotation is required to change the resource at /redfish/v1/Systems/' + s.id + '.', { resolution: 'Send the If-Match header with the ETag of the resource.' }));
    if (ifMatch && ifMatch !== '*' && ifMatch !== etagOf(s)) throw new HttpError(412, redfishError('PreconditionFailed', 'The ETag supplied did not match the ETag required to change this resource.', { resolution: 'Read the resource again and retry with its current ETag.' }));
    const b = (body ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(b)) if (k !== 'Boot') throw new HttpError(400, redfishError('PropertyNotWritable', `The property ${k} is a read only property and cannot be assigned a value.`, { args: [k] }));
    const boot = (b.Boot ?? {}) as Record<string, unknown>;
    const next = { ...s.boot };
    const allowed: Record<string, readonly string[]> = { BootSourceOverrideEnabled: ['Disabled', 'Once', 'Continuous'], BootSourceOverrideTarget: s.bootTargets, BootSourceOverrideMode: s.bootModes };
    for (const [k, v] of Object.entries(boot)) {
      const list = allowed[k];
      if (!list) throw new HttpError(400, redfishError('PropertyUnknown', `The property ${k} is not in the list of valid properties for the resource.`, { args: [k] }));
      if (typeof v !== 'string' || !list.includes(v)) throw new HttpError(400, redfishError('PropertyValueNotInList', `The value ${JSON.stringify(v)} for the property ${k} is not in the list of acceptable values.`, { args: [String(v), k] }));
      if (k === 'BootSourceOverrideEnabled') next.enabled = v as SystemState['boot']['enabled'];
      if (k === 'BootSourceOverrideTarget') next.target = v;
      if (k === 'BootSourceOverrideMode') next.mode = v as SystemState['boot']['mode'];
    }
    await delay();
    s.boot = next;
    s.version++;
    return { status: 200, body: computerSystem(s), headers: { ETag: etagOf(s) } };
  }

  async function reset(s: SystemState, body: unknown) {
    const type = (body as { ResetType?: unknown } | undefined)?.ResetType;
    if (typeof type !== 'string') throw new HttpError(400, redfishError('ActionParameterMissing', 'The action ComputerSystem.Reset requires the parameter ResetType to be present in the request body.', { args: ['ComputerSystem.Reset', 'ResetType'] }));
    if (!s.resetTypes.includes(type)) throw new HttpError(400, redfishError('ActionParameterValueNotInList', `The value ${type} for the parameter ResetType in the action ComputerSystem.Reset is not in the list of acceptable values.`, { args: [type, 'ResetType', 'ComputerSystem.Reset'] }));
    await delay();
    const vm = vms.get(s.id)!;
    const start = async () => { if (await vm.start(s.boot)) s.boot = { ...s.boot, enabled: 'Disabled', target: 'None' }; };
    switch (type) {
      case 'On': case 'ForceOn': await start(); break;
      case 'ForceOff': await vm.forceOff(); break;
      case 'GracefulShutdown': await vm.powerButton(); break;
      case 'PushPowerButton': if (vm.running) await vm.powerButton(); else await start(); break;
      case 'Nmi': await vm.nmi(); break;
      // QEMU fixes its boot order per process, so a restart is a new process: that is how the
      // override reaches the "next boot", as it would at a real machine's POST.
      case 'ForceRestart': case 'PowerCycle': case 'GracefulRestart': await vm.forceOff(); await start(); break;
    }
    s.version++;
    current(s.id);
    return { status: 204 };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://x');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const entry: JournalEntry = { method: req.method ?? 'GET', path, auth: 'none', start: Date.now(), end: 0, status: 0 };
    journal.push(entry);
    let out: { status: number; body?: object; headers?: Record<string, string> };
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      if (text) {
        try { body = JSON.parse(text); } catch { throw new HttpError(400, redfishError('MalformedJSON', 'The request body submitted was malformed JSON and could not be parsed by the receiving service.')); }
      }
      // Recorded for tests that check what was asked; a session login's Password is not kept.
      entry.body = body && typeof body === 'object' && 'Password' in body ? { ...body, Password: '[redacted]' } : body;
      out = await route(req, path, body, entry);
    } catch (err) {
      out = err instanceof HttpError ? err : { status: 500, body: redfishError('InternalError', `The request failed due to an internal service error: ${(err as Error).message}`, { severity: 'Critical' }) };
    }
    entry.status = out.status;
    entry.end = Date.now();
    const headers: Record<string, string> = { 'OData-Version': '4.0', ...out.headers };
    if (out.body) headers['Content-Type'] = 'application/json; charset=utf-8';
    res.writeHead(out.status, headers);
    res.end(out.body ? JSON.stringify(out.body) : undefined);
    o.onAnswered?.(entry);
  }

  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => { void handle(req, res); });
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(o.port ?? 0, host, resolve); });
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://${host}:${port}`, port, caFile: tls.caFile, ca: tls.ca, journal, vms, systems,
    sessionCount: () => sessions.size,
    async close() {
      await Promise.all([...vms.values()].map((v) => v.kill()));
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
