// The ComputerSystems of the faulty test BMC (faulty-bmc.ts): their state, how they render as
// Redfish, ETags and If-Match, PATCH of Boot, the Reset action with its power delay, and the
// Tasks a Reset may run as. Every misbehaviour reads the shared, mutable `faults` object at the
// moment of the request, so a test can switch one on or off between two requests.
// Handlers return a Reply; the server in faulty-bmc.ts does HTTP, auth and the journal.
import { createHash } from 'node:crypto';

export type PowerState = 'On' | 'Off';
export interface BootSettings { BootSourceOverrideEnabled: string; BootSourceOverrideTarget: string; BootSourceOverrideMode: string }

export interface FaultyBmcFaults {
  /** require-428 / conflict-409: a PATCH without If-Match answers that. stale-412: the first PATCH
   *  of each resource that carries an If-Match (even the right one) → 412, once. */
  ifMatch?: 'require-428' | 'stale-412' | 'conflict-409';
  /** ETag and @odata.etag read W/"x"; only the strong "x" is accepted in If-Match. */
  weakEtag?: boolean;
  /** Any If-Match at all → 412 (only a PATCH without one passes). */
  weakRejectAll?: boolean;
  /** The ETag header and @odata.etag differ; the value names the one an If-Match must carry. */
  headerEtagDiffers?: 'odata-matches' | 'header-matches';
  /** A Reset is applied at once but answered only this much later. */
  resetAnswerDelayMs?: number;
  /** A Reset answers 202 + Location of a task monitor; the task runs taskMs, then ends so. */
  resetTask?: 'fails' | 'succeeds';
  taskMs?: number;
  /** A system is also reachable under its Name (and any path below): 307 with Location of the Id
   *  path, relative as sushy sends it, or http(s)://127.0.0.2:PORT/… with redirectOtherHost (nothing
   *  listens there). Like sushy, the credentials are checked before the redirect. */
  redirect?: boolean;
  redirectOtherHost?: boolean;
  /** PATCH answers 200 but stores nothing: always (true) or for the first N PATCHes. */
  patchNotStored?: boolean | number;
  /** AMI: Boot is PATCHed on <system>/SD (the SettingsObject) and applied at the next power on;
   *  a PATCH on the system itself → 405. */
  settingsObject?: boolean;
  /** Supermicro: a PATCH with BootSourceOverrideTarget but no BootSourceOverrideMode sets the mode Legacy. */
  modeResetUnlessWithTarget?: boolean;
  /** iLO: a PATCH that contains BootSourceOverrideMode → 400 PropertyNotWritable, nothing stored. */
  refuseModeField?: boolean;
  /** normal: 201 + X-Auth-Token + Location. none: no SessionService nor Links.Sessions, POST → 404.
   *  no-token: POST → 204 with no token and no Location (like sushy static). basic-401: POST without
   *  an Authorization header → 401 + WWW-Authenticate: Basic (as sushy with auth); with valid Basic
   *  it logs in (201). Basic auth works on every resource in every mode. */
  sessions?: 'normal' | 'none' | 'no-token' | 'basic-401';
  sessionIdleExpiryMs?: number;
  /** A login beyond this many live sessions → 503 SessionLimitExceeded. */
  maxSessions?: number;
}

export interface BmcSystem {
  id: string;
  name: string;
  uuid: string;
  powerState: PowerState;
  boot: BootSettings;
  /** The SettingsObject's Boot (settingsObject fault): applied when the system next powers on. */
  pendingBoot: Partial<BootSettings>;
  /** Bumped on every change of the system (or of its SettingsObject); the ETags derive from it. */
  version: number;
  sdVersion: number;
}

export interface Counters {
  /** Reset POSTs that were applied (a failed task's Reset is not). */
  resets: number;
  resetTypes: string[];
  patchesIgnored: number;
  sessionsCreated: number;
  sessionsDeleted: number;
  sessionsExpired: number;
}

export interface Reply { status: number; headers?: Record<string, string>; body?: unknown; delayMs?: number }

const REG = 'Base.1.12.0';
export const RESET_TYPES = ['On', 'ForceOff', 'PowerCycle', 'ForceRestart', 'GracefulShutdown'];
const ALLOWED: Record<keyof BootSettings, string[]> = {
  BootSourceOverrideEnabled: ['Disabled', 'Once', 'Continuous'],
  BootSourceOverrideTarget: ['None', 'Pxe', 'Hdd', 'Cd', 'Usb', 'BiosSetup', 'UefiHttp'],
  BootSourceOverrideMode: ['Legacy', 'UEFI'],
};

/** A Redfish error body as BMCs send it: code, message and one ExtendedInfo entry. */
export function redfishError(status: number, messageId: string, message: string, headers?: Record<string, string>): Reply {
  const id = `${REG}.${messageId}`;
  return { status, ...(headers ? { headers } : {}), body: { error: { code: id, message,
    '@Message.ExtendedInfo': [{ '@odata.type': '#Message.v1_1_1.Message', MessageId: id, Message: message, Severity: 'Critical' }] } } };
}

interface Task { id: number; resetType: string; system: BmcSystem; state: 'Running' | 'Completed' | 'Exception'; start: Date; end?: Date }

export class SystemsModel {
  readonly tasks = new Map<number, Task>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly powerTimers = new Map<BmcSystem, NodeJS.Timeout>();
  private readonly staleFired = new Set<string>();
  private patchesSeen = 0;

  constructor(readonly systems: BmcSystem[], private readonly faults: FaultyBmcFaults,
    private readonly counters: Counters, private readonly powerDelayMs: number) {}

  path(sys: BmcSystem): string { return `/redfish/v1/Systems/${sys.id}`; }

  /** The ETag header and @odata.etag of a system (sd: of its SettingsObject), and the one tag an If-Match must carry. */
  etags(sys: BmcSystem, sd = false): { header: string; odata: string; accepted: string } {
    const hash = (salt: string) => `"${createHash('sha1').update(`${sys.id}/${sd ? 'sd' : 'sys'}/${sd ? sys.sdVersion : sys.version}/${salt}`).digest('hex').slice(0, 16)}"`;
    const real = hash('');
    const decoy = hash('decoy');
    const which = this.faults.headerEtagDiffers;
    const show = (tag: string) => (this.faults.weakEtag ? `W/${tag}` : tag);
    return { header: show(which === 'odata-matches' ? decoy : real), odata: show(which === 'header-matches' ? decoy : real), accepted: real };
  }

  render(sys: BmcSystem): Reply {
    const p = this.path(sys);
    const tags = this.etags(sys);
    return { status: 200, headers: { ETag: tags.header }, body: {
      '@odata.id': p, '@odata.type': '#ComputerSystem.v1_13_0.ComputerSystem', '@odata.etag': tags.odata,
      Id: sys.id, Name: sys.name, UUID: sys.uuid, SystemType: 'Physical', PowerState: sys.powerState,
      Status: { State: 'Enabled', Health: 'OK' },
      Boot: { ...sys.boot, ...Object.fromEntries(Object.entries(ALLOWED).map(([k, v]) => [`${k}@Redfish.AllowableValues`, v])) },
      Actions: { '#ComputerSystem.Reset': { target: `${p}/Actions/ComputerSystem.Reset`, 'ResetType@Redfish.AllowableValues': RESET_TYPES } },
      ...(this.faults.settingsObject ? { '@Redfish.Settings': { '@odata.type': '#Settings.v1_3_5.Settings', SettingsObject: { '@odata.id': `${p}/SD` } } } : {}),
    } };
  }

  renderSettings(sys: BmcSystem): Reply {
    const tags = this.etags(sys, true);
    return { status: 200, headers: { ETag: tags.header }, body: {
      '@odata.id': `${this.path(sys)}/SD`, '@odata.type': '#ComputerSystem.v1_13_0.ComputerSystem', '@odata.etag': tags.odata,
      Id: 'SD', Name: `${sys.name} pending settings`, Boot: { ...sys.boot, ...sys.pendingBoot },
    } };
  }

  /** PATCH of the system (sd false) or of its SettingsObject (sd true). */
  patch(sys: BmcSystem, sd: boolean, ifMatch: string | undefined, body: unknown): Reply {
    const f = this.faults;
    const where = sd ? `${this.path(sys)}/SD` : this.path(sys);
    if (!sd && f.settingsObject) {
      return redfishError(405, 'OperationNotAllowed', `The PATCH method is not allowed on ${where}; PATCH its SettingsObject ${where}/SD.`, { Allow: 'GET' });
    }
    const refused = this.precondition(sys, sd, where, ifMatch);
    if (refused) return refused;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return redfishError(400, 'MalformedJSON', 'The request body submitted was malformed JSON.');
    for (const key of Object.keys(body)) {
      if (key !== 'Boot') return redfishError(400, 'PropertyUnknown', `The property ${key} is not in the list of valid properties for the resource.`);
    }
    const boot = (body as { Boot?: unknown }).Boot;
    if (!boot || typeof boot !== 'object') return redfishError(400, 'PropertyValueTypeError', 'The value for the property Boot is of a different type than the property can accept.');
    const changes = boot as Record<string, unknown>;
    if (f.refuseModeField && 'BootSourceOverrideMode' in changes) {
      return redfishError(400, 'PropertyNotWritable', 'The property BootSourceOverrideMode is a read only property and cannot be assigned a value.');
    }
    for (const [key, value] of Object.entries(changes)) {
      const allowed = ALLOWED[key as keyof BootSettings];
      if (!allowed) return redfishError(400, 'PropertyUnknown', `The property ${key} is not in the list of valid properties for the resource.`);
      if (typeof value !== 'string' || !allowed.includes(value)) {
        return redfishError(400, 'PropertyValueNotInList', `The value ${JSON.stringify(value)} for the property ${key} is not in the list of acceptable values.`);
      }
    }
    this.patchesSeen++;
    const notStored = f.patchNotStored === true || (typeof f.patchNotStored === 'number' && this.patchesSeen <= f.patchNotStored);
    if (notStored) {
      this.counters.patchesIgnored++;
    } else {
      const next = { ...(changes as Partial<BootSettings>) };
      if (f.modeResetUnlessWithTarget && next.BootSourceOverrideTarget && !next.BootSourceOverrideMode) next.BootSourceOverrideMode = 'Legacy';
      if (sd) { Object.assign(sys.pendingBoot, next); sys.sdVersion++; } else { Object.assign(sys.boot, next); sys.version++; }
    }
    return { status: 200, headers: { ETag: this.etags(sys, sd).header },
      body: { '@Message.ExtendedInfo': [{ MessageId: `${REG}.Success`, Message: 'The request completed successfully.', Severity: 'OK' }] } };
  }

  private precondition(sys: BmcSystem, sd: boolean, where: string, ifMatch: string | undefined): Reply | undefined {
    const f = this.faults;
    if (ifMatch === undefined) {
      if (f.ifMatch === 'require-428') return redfishError(428, 'PreconditionRequired', `A precondition header or annotation is required to change the resource at ${where}.`);
      if (f.ifMatch === 'conflict-409') return redfishError(409, 'ResourceInUse', 'The change to the requested resource failed because the resource is in use or in transition.');
      return undefined;
    }
    const failed = redfishError(412, 'PreconditionFailed', `The ETag supplied did not match the ETag required to change the resource at ${where}.`);
    if (f.ifMatch === 'stale-412' && !this.staleFired.has(where)) { this.staleFired.add(where); return failed; }
    if (f.weakRejectAll) return failed;
    const offered = ifMatch.split(',').map((s) => s.trim());
    if (offered.includes('*') || offered.includes(this.etags(sys, sd).accepted)) return undefined;
    return failed;
  }

  reset(sys: BmcSystem, body: unknown): Reply {
    const type = (body as { ResetType?: unknown } | undefined)?.ResetType;
    if (type === undefined) return redfishError(400, 'ActionParameterMissing', 'The action ComputerSystem.Reset requires the parameter ResetType to be present in the request body.');
    if (typeof type !== 'string' || !RESET_TYPES.includes(type)) {
      return redfishError(400, 'ActionParameterValueNotInList', `The value ${JSON.stringify(type)} for the parameter ResetType in the action ComputerSystem.Reset is not in the list of acceptable values.`);
    }
    let reply: Reply = { status: 204 };
    if (this.faults.resetTask) reply = this.startTask(sys, type, this.faults.resetTask);
    else this.applyReset(sys, type, false);
    return { ...reply, delayMs: this.faults.resetAnswerDelayMs ?? 0 };
  }

  /** Counts the Reset and changes the power: at once (landNow), else after powerDelayMs; a cycle
   *  is Off during that time. A later Reset replaces a change still pending. */
  private applyReset(sys: BmcSystem, type: string, landNow: boolean): void {
    this.counters.resets++;
    this.counters.resetTypes.push(type);
    const pending = this.powerTimers.get(sys);
    if (pending) { clearTimeout(pending); this.timers.delete(pending); }
    const cycle = type === 'PowerCycle' || type === 'ForceRestart';
    const target: PowerState = type === 'ForceOff' || type === 'GracefulShutdown' ? 'Off' : 'On';
    const land = () => {
      this.powerTimers.delete(sys);
      if (target === 'On' && (cycle || sys.powerState === 'Off')) this.applyPendingSettings(sys);
      if (sys.powerState !== target) { sys.powerState = target; sys.version++; }
    };
    if (landNow) return land();
    if (!cycle && sys.powerState === target) return;
    if (cycle && sys.powerState !== 'Off') { sys.powerState = 'Off'; sys.version++; }
    this.powerTimers.set(sys, this.later(this.powerDelayMs, land));
  }

  private applyPendingSettings(sys: BmcSystem): void {
    if (Object.keys(sys.pendingBoot).length === 0) return;
    Object.assign(sys.boot, sys.pendingBoot);
    sys.pendingBoot = {};
    sys.version++;
    sys.sdVersion++;
  }

  private startTask(sys: BmcSystem, type: string, outcome: 'fails' | 'succeeds'): Reply {
    const task: Task = { id: this.tasks.size + 1, resetType: type, system: sys, state: 'Running', start: new Date() };
    this.tasks.set(task.id, task);
    this.later(this.faults.taskMs ?? 1000, () => {
      task.end = new Date();
      task.state = outcome === 'fails' ? 'Exception' : 'Completed';
      if (outcome === 'succeeds') this.applyReset(sys, type, true);
    });
    return { status: 202, headers: { Location: monitorPath(task.id) }, body: taskBody(task) };
  }

  /** The task monitor: 202 while the task runs, then 204 (succeeded) or 200 with the failed Task. */
  monitor(id: number): Reply | undefined {
    const task = this.tasks.get(id);
    if (!task) return undefined;
    if (task.state === 'Running') return { status: 202, headers: { 'Retry-After': '1', Location: monitorPath(id) }, body: taskBody(task) };
    return task.state === 'Completed' ? { status: 204 } : { status: 200, body: taskBody(task) };
  }

  task(id: number): Reply | undefined {
    const task = this.tasks.get(id);
    return task && { status: 200, body: taskBody(task) };
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
    this.timers.add(t);
    return t;
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

function monitorPath(id: number): string { return `/redfish/v1/TaskService/TaskMonitors/${id}`; }

function taskBody(task: Task): unknown {
  const failed = task.state === 'Exception';
  return {
    '@odata.id': `/redfish/v1/TaskService/Tasks/${task.id}`, '@odata.type': '#Task.v1_4_3.Task',
    Id: String(task.id), Name: `ComputerSystem.Reset ${task.resetType}`, TaskMonitor: monitorPath(task.id),
    TaskState: task.state, TaskStatus: failed ? 'Critical' : 'OK', PercentComplete: task.state === 'Running' ? 50 : 100,
    StartTime: task.start.toISOString(), ...(task.end ? { EndTime: task.end.toISOString() } : {}),
    Messages: failed ? [{ MessageId: `${REG}.GeneralError`, Severity: 'Critical',
      Message: `The ComputerSystem.Reset ${task.resetType} of ${task.system.id} failed: the power controller did not respond.` }] : [],
  };
}
