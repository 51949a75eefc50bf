// The Redfish driver. Calls authenticate through the BMC's one shared session (redfish-session),
// find the ComputerSystem, and read it before acting, so the ResetType and boot values sent are
// ones the system itself lists as allowable. Written for BMCs nobody here wrote:
// - a Reset is sent once, on a connection of its own; whatever fails before it is marked as not
//   sent (the wrapper may retry), whatever fails after it may have reset the machine (it may not);
// - a 202 hands back the task monitor, which the wrapper follows and whose failure it reports;
// - the boot override is PATCHed with the ETag just read (retried as real BMCs need, see
//   redfish-etag), to the settings resource when the system names one (AMI), always with the
//   mode when a mode is set (Supermicro otherwise resets it), and read back: some BMCs answer
//   200 and store nothing.
import { PowerError } from './errors.js';
import { loadPassword, type CredentialOptions, type PasswordSource } from './credentials.js';
import { RedfishHttp, header, type RedfishEndpoint, type RedfishResponse, type RequestOptions } from './redfish-http.js';
import { BOOT_MODES, BOOT_TARGETS, POWER_STATES, redfishErrorText, refusesResetType, resetTypeCandidates, type ResetIntent } from './redfish-map.js';
import { etagOf, ifMatchCandidates } from './redfish-etag.js';
import { redfishSessions, type AuthMode, type Credentials, type RedfishSessions } from './redfish-session.js';
import { monitorProgress, taskResourceProgress } from './redfish-task.js';
import type { BootDeviceRequest, CallOptions, PowerChange, PowerDriver, PowerState, PowerTask, TaskProgress } from './types.js';

export interface RedfishConfig extends PasswordSource, Omit<RedfishEndpoint, 'baseDir'> {
  username: string;
  /** System id under /redfish/v1/Systems, or its full path; needed when there are several. */
  system?: string;
  boot_mode?: 'UEFI' | 'Legacy';
  /** auto (default): a session if the service allows, else basic. */
  auth?: AuthMode;
}

export interface RedfishDeps extends CredentialOptions {
  /** Defaults to the process-wide sessions (one per BMC). */
  sessions?: RedfishSessions;
}

type Json = Record<string, unknown>;

/** One driver call: its deadline, the caller's signal, and the credentials it runs with. */
interface Ctx { action: string; deadline: number; signal?: AbortSignal; password: string; creds: Credentials }

interface Resource { path: string; body: Json; headers: RedfishResponse['headers'] }

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);
const CONFLICT = new Set([409, 412, 428]);
/** PATCH attempts for one boot override, ETag retries included. */
const MAX_PATCHES = 5;
const TASK_POLL_MS = 500;

export class RedfishDriver implements PowerDriver {
  readonly kind = 'redfish' as const;
  readonly capabilities = { readsState: true, powerOff: true, bootDevice: true };
  readonly http: RedfishHttp;
  private readonly sessions: RedfishSessions;
  private systemPath: string | undefined;

  constructor(private readonly cfg: RedfishConfig, private readonly deps: RedfishDeps = {}) {
    this.http = new RedfishHttp({ ...cfg, baseDir: deps.baseDir });
    this.sessions = deps.sessions ?? redfishSessions;
  }

  get bmcKey(): string { return this.http.key; }

  async validate(): Promise<void> {
    if (!this.cfg.username) throw new PowerError('CONFIG', this.cfg.machine, 'validate', 'redfish needs a username');
    await loadPassword(this.cfg.machine, this.cfg, this.deps);
  }

  getPowerState(o: CallOptions = {}): Promise<PowerState> {
    return this.run('status', o, async (c) => this.stateOf(await this.readSystem(c)));
  }

  setPowerState(state: 'on' | 'off', o: CallOptions = {}): Promise<PowerChange> {
    return this.run(state, o, (c) => this.reset(state, c));
  }

  reboot(o: CallOptions = {}): Promise<PowerChange> {
    return this.run('cycle', o, (c) => this.reset('cycle', c));
  }

  readTask(task: PowerTask, o: CallOptions = {}): Promise<TaskProgress> {
    return this.run('task', o, (c) => this.taskProgress(task, c));
  }

  setBootDevice(req: BootDeviceRequest, o: CallOptions = {}): Promise<void> {
    return this.run('boot-device', o, async (c) => {
      const sys = await this.readSystem(c);
      const boot = (sys.body.Boot ?? {}) as Json;
      const target = BOOT_TARGETS[req.device];
      const patch: Json = { BootSourceOverrideEnabled: 'Once', BootSourceOverrideTarget: target };
      this.requireAllowed(boot, 'BootSourceOverrideTarget', target);
      this.requireAllowed(boot, 'BootSourceOverrideEnabled', 'Once');
      const mode = req.mode ? BOOT_MODES[req.mode] : this.cfg.boot_mode;
      // A BMC without BootSourceOverrideMode boots in its only mode: nothing to send. When there
      // is one, it goes with every override: Supermicro resets a mode not sent with the target.
      if (mode && 'BootSourceOverrideMode' in boot) {
        this.requireAllowed(boot, 'BootSourceOverrideMode', mode);
        patch.BootSourceOverrideMode = mode;
      }
      // AMI-based BMCs take changes on the settings resource, applied at the next reset.
      const settings = settingsPath(sys.body);
      const read = settings ? () => this.read(c, settings) : () => this.readSystem(c);
      let current = settings ? await read() : sys;
      for (let attempt = 1; ; attempt++) {
        const sent = await this.patchBoot(c, current, patch, boot);
        current = await read();
        const mismatch = bootMismatch((current.body.Boot ?? {}) as Json, sent);
        if (!mismatch) return;
        if (attempt === 2) {
          throw new PowerError('BMC_ERROR', this.cfg.machine, c.action, `PATCH ${this.http.base.host}${current.path} was accepted but not stored (reads back ${mismatch})`, c.creds.secrets);
        }
      }
    });
  }

  private stateOf(sys: { body: Json }): PowerState {
    const s = sys.body.PowerState;
    return (typeof s === 'string' && POWER_STATES[s]) || 'unknown';
  }

  /**
   * Everything before the POST only reads: its failures are marked not sent. The POST goes once,
   * on a fresh connection; its failure carries whether it may have reached the BMC.
   */
  private async reset(intent: ResetIntent, c: Ctx): Promise<PowerChange> {
    let target: string;
    let types: string[];
    try {
      const sys = await this.readSystem(c);
      const state = this.stateOf(sys);
      const act = ((sys.body.Actions as Json | undefined)?.['#ComputerSystem.Reset'] ?? undefined) as Json | undefined;
      if (!act) throw new PowerError('UNSUPPORTED', this.cfg.machine, c.action, `${sys.path} has no #ComputerSystem.Reset action`);
      target = typeof act.target === 'string' ? act.target : `${sys.path}/Actions/ComputerSystem.Reset`;
      const allowable = strings(act['ResetType@Redfish.AllowableValues']) ?? await this.actionInfoValues(act, c);
      // Nothing to do: On when on and ForceOff when off are errors on some BMCs.
      if ((intent === 'on' && state === 'on') || (intent === 'off' && state === 'off')) return {};
      types = resetTypeCandidates(intent, allowable, state);
      if (types.length === 0) throw new PowerError('UNSUPPORTED', this.cfg.machine, c.action, `no ResetType for ${intent} among ${allowable?.join(', ')}`);
    } catch (err) {
      throw err instanceof PowerError ? err.beforeSending() : err;
    }
    for (const [i, type] of types.entries()) {
      const r = await this.send(c, 'POST', target, { body: { ResetType: type }, fresh: true });
      if (r.status === 202) { const task = taskOf(r); return task ? { task } : {}; }
      if (r.status >= 200 && r.status < 300) return {};
      // A BMC that lists a type and then refuses it did nothing: the next type may do.
      if (i + 1 < types.length && refusesResetType(r.status, redfishErrorText(r.body).messageIds)) continue;
      throw this.http.httpError(r, 'POST', c.action, c.creds.secrets);
    }
    throw new PowerError('UNSUPPORTED', this.cfg.machine, c.action, 'no ResetType left to try').beforeSending();
  }

  /**
   * PATCHes the boot override with the ETag just read; on 409/412/428 re-reads and tries the
   * ETag spellings the BMC may want; a BMC that refuses the mode field (400) gets one try
   * without it when the mode it has is the one wanted. Returns what was finally sent.
   */
  private async patchBoot(c: Ctx, res: Resource, patch: Json, boot: Json): Promise<Json> {
    const tries: (string | null)[] = [etagOf(res) ?? null];
    let body = patch;
    let r: RedfishResponse | undefined;
    let droppedMode = false;
    for (let n = 0; n < MAX_PATCHES && tries.length > 0; n++) {
      const ifMatch = tries.shift()!;
      r = await this.send(c, 'PATCH', res.path, { body: { Boot: body }, headers: ifMatch ? { 'If-Match': ifMatch } : {} });
      if (r.status === 202) { const task = taskOf(r); if (task) await this.awaitTask(c, task); return body; }
      if (r.status >= 200 && r.status < 300) return body;
      if (CONFLICT.has(r.status) && n === 0) {
        tries.push(...ifMatchCandidates(await this.read(c, res.path), r.status));
        continue;
      }
      if (CONFLICT.has(r.status)) continue;
      if (r.status === 400 && 'BootSourceOverrideMode' in body && !droppedMode) {
        if (boot.BootSourceOverrideMode !== body.BootSourceOverrideMode) {
          const said = this.http.httpError(r, 'PATCH', c.action, c.creds.secrets).bmcMessage;
          throw new PowerError('UNSUPPORTED', this.cfg.machine, c.action,
            `the BMC refuses to set BootSourceOverrideMode ${String(body.BootSourceOverrideMode)} (it is ${String(boot.BootSourceOverrideMode)}): set the boot mode in the firmware setup, or change boot_mode (${said})`, c.creds.secrets);
        }
        const { BootSourceOverrideMode: _mode, ...rest } = body;
        body = rest;
        droppedMode = true;
        tries.unshift(etagOf(await this.read(c, res.path)) ?? null);
        continue;
      }
      break;
    }
    throw this.http.httpError(r!, 'PATCH', c.action, c.creds.secrets);
  }

  /** Follows a task to its end within the call's deadline (boot override PATCHes). */
  private async awaitTask(c: Ctx, task: PowerTask): Promise<void> {
    for (;;) {
      const p = await this.taskProgress(task, c);
      if (p.state === 'completed') return;
      if (p.state === 'failed') throw new PowerError('BMC_ERROR', this.cfg.machine, c.action, `task ${task.monitor} failed: ${p.message}`, c.creds.secrets);
      if (Date.now() + TASK_POLL_MS >= c.deadline) throw new PowerError('TIMEOUT', this.cfg.machine, c.action, `task ${task.monitor} still running`);
      await new Promise((r) => setTimeout(r, TASK_POLL_MS));
    }
  }

  private async taskProgress(task: PowerTask, c: Ctx): Promise<TaskProgress> {
    const r = await this.send(c, 'GET', task.monitor);
    const p = monitorProgress(r.status, r.body);
    if (p) return p;
    // The monitor is gone once it has answered: the Task resource keeps the outcome.
    if (!task.task) return { state: 'completed' };
    const t = await this.send(c, 'GET', task.task);
    if (t.status === 404 || t.status === 410) return { state: 'completed' };
    if (t.status < 200 || t.status >= 300) throw this.http.httpError(t, 'GET', c.action, c.creds.secrets);
    return taskResourceProgress(t.body) ?? { state: 'completed' };
  }

  /** Some services list allowable values in a separate ActionInfo resource instead. */
  private async actionInfoValues(act: Json, c: Ctx): Promise<string[] | undefined> {
    const info = act['@Redfish.ActionInfo'];
    if (typeof info !== 'string') return undefined;
    const r = await this.read(c, info);
    const params = (r.body as { Parameters?: { Name?: string; AllowableValues?: unknown }[] }).Parameters ?? [];
    return strings(params.find((p) => p.Name === 'ResetType')?.AllowableValues);
  }

  private requireAllowed(boot: Json, prop: string, value: string): void {
    const allowed = strings(boot[`${prop}@Redfish.AllowableValues`]);
    if (allowed && !allowed.includes(value)) {
      throw new PowerError('UNSUPPORTED', this.cfg.machine, 'boot-device', `${prop} ${value} is not offered (allowable: ${allowed.join(', ')})`);
    }
  }

  private async readSystem(c: Ctx): Promise<Resource> {
    return this.read(c, this.systemPath ?? await this.findSystem(c));
  }

  private async read(c: Ctx, path: string): Promise<Resource> {
    const r = await this.send(c, 'GET', path);
    if (r.status < 200 || r.status >= 300) throw this.http.httpError(r, 'GET', c.action, c.creds.secrets);
    const body = (typeof r.body === 'object' && r.body !== null ? r.body : {}) as Json;
    // A redirected system is remembered where it answered.
    if (path === this.systemPath && r.url.pathname !== path) this.systemPath = r.url.pathname;
    return { path: r.url.pathname, body, headers: r.headers };
  }

  private async findSystem(c: Ctx): Promise<string> {
    if (this.cfg.system) {
      this.systemPath = this.cfg.system.startsWith('/') ? this.cfg.system : `/redfish/v1/Systems/${this.cfg.system}`;
      return this.systemPath;
    }
    const r = await this.read(c, '/redfish/v1/Systems');
    const members = ((r.body as { Members?: { '@odata.id'?: string }[] }).Members ?? []).map((m) => m['@odata.id']).filter((x): x is string => typeof x === 'string');
    if (members.length !== 1) {
      throw new PowerError('CONFIG', this.cfg.machine, c.action, members.length === 0
        ? `${this.http.base.host} lists no ComputerSystem`
        : `${this.http.base.host} lists ${members.length} systems (${members.join(', ')}): set power.system to one of them`);
    }
    this.systemPath = members[0]!;
    return this.systemPath;
  }

  /**
   * One authenticated request. A 401 on a session token means the BMC dropped the session: it
   * did not act on the request, so after one new login the request is sent again.
   */
  private async send(c: Ctx, method: string, path: string, o: RequestOptions = {}): Promise<RedfishResponse> {
    const go = () => this.http.call(method, path, c.action, {
      ...o, headers: { ...o.headers, ...c.creds.headers }, signal: c.signal, timeout: Math.max(1, c.deadline - Date.now()),
    });
    const r = await go();
    if (r.status !== 401 || !c.creds.token) return r;
    this.sessions.refused(this.http, this.authRequest(c), c.creds.token);
    c.creds = await this.credentials(c);
    return go();
  }

  private authRequest(c: Ctx) {
    return { machine: this.cfg.machine, username: this.cfg.username, password: c.password, mode: this.cfg.auth ?? 'auto', action: c.action, timeout: Math.max(1, c.deadline - Date.now()) };
  }

  private async credentials(c: Ctx): Promise<Credentials> {
    try {
      return await this.sessions.credentials(this.http, this.authRequest(c));
    } catch (err) {
      throw err instanceof PowerError ? err.beforeSending() : err;
    }
  }

  /** Runs fn with credentials and a deadline; the caller's signal reaches fn's requests only. */
  private async run<T>(action: string, o: CallOptions, fn: (c: Ctx) => Promise<T>): Promise<T> {
    const password = await loadPassword(this.cfg.machine, this.cfg, this.deps).catch((err: unknown) => {
      throw err instanceof PowerError ? err.beforeSending() : err;
    });
    const c: Ctx = { action, deadline: Date.now() + (o.timeout ?? 20_000), signal: o.signal, password, creds: { headers: {}, secrets: [password] } };
    c.creds = await this.credentials(c);
    if (o.signal?.aborted) throw new PowerError('CANCELLED', this.cfg.machine, action, 'aborted before the first request').beforeSending();
    return fn(c);
  }
}

/** The settings resource a system names for pending changes (`@Redfish.Settings`), if any. */
function settingsPath(body: Json): string | undefined {
  const s = body['@Redfish.Settings'] as { SettingsObject?: { '@odata.id'?: unknown } } | undefined;
  const id = s?.SettingsObject?.['@odata.id'];
  return typeof id === 'string' && id.startsWith('/') ? id : undefined;
}

/**
 * What of the override sent does not read back, as text; undefined when all of it does. Once
 * that reads back Continuous counts as stored (sushy-tools and some BMCs keep only Continuous):
 * the machine then network-boots every time, and its iPXE script boots the disk when it should.
 */
function bootMismatch(boot: Json, sent: Json): string | undefined {
  const stored = (k: string, v: unknown) => boot[k] === v || (k === 'BootSourceOverrideEnabled' && v === 'Once' && boot[k] === 'Continuous');
  const off = Object.entries(sent).filter(([k, v]) => !stored(k, v));
  return off.length ? off.map(([k]) => `${k} ${JSON.stringify(boot[k] ?? null)}`).join(', ') : undefined;
}

/**
 * A 202's task: the monitor from Location, the Task resource from the body when it is one.
 * None named: nothing to follow (the wrapper's state poll still tells how it went).
 */
function taskOf(r: RedfishResponse): PowerTask | undefined {
  const loc = header(r, 'location');
  const id = (r.body as { '@odata.id'?: unknown } | undefined)?.['@odata.id'];
  const task = typeof id === 'string' && id.startsWith('/') ? id : undefined;
  const monitor = loc ? new URL(loc, r.url).pathname : task;
  return monitor ? { monitor, task } : undefined;
}
