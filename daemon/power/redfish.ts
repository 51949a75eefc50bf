// The Redfish driver. Each call authenticates (a session when the service offers one, deleted
// afterwards so sessions never pile up on the BMC; basic auth otherwise), finds the
// ComputerSystem, and reads it before acting, so the ResetType and boot values sent are ones the
// system itself lists as allowable.
import { PowerError } from './errors.js';
import { loadPassword, type CredentialOptions, type PasswordSource } from './credentials.js';
import { RedfishHttp, type RedfishEndpoint, type RedfishResponse } from './redfish-http.js';
import { BOOT_MODES, BOOT_TARGETS, POWER_STATES, chooseResetType, type ResetIntent } from './redfish-map.js';
import type { BootDeviceRequest, CallOptions, PowerDriver, PowerState } from './types.js';

export interface RedfishConfig extends PasswordSource, Omit<RedfishEndpoint, 'baseDir'> {
  username: string;
  /** System id under /redfish/v1/Systems, or its full path; needed when there are several. */
  system?: string;
  boot_mode?: 'UEFI' | 'Legacy';
  /** auto (default): a session if the service allows, else basic. */
  auth?: 'auto' | 'session' | 'basic';
}

interface Ctx { headers: Record<string, string>; secrets: string[]; timeout?: number; signal?: AbortSignal }
type Json = Record<string, unknown>;

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);

export class RedfishDriver implements PowerDriver {
  readonly kind = 'redfish' as const;
  readonly capabilities = { readsState: true, powerOff: true, bootDevice: true };
  readonly http: RedfishHttp;
  private systemPath: string | undefined;

  constructor(private readonly cfg: RedfishConfig, private readonly deps: CredentialOptions = {}) {
    this.http = new RedfishHttp({ ...cfg, baseDir: deps.baseDir });
  }

  get bmcKey(): string { return this.http.key; }

  async validate(): Promise<void> {
    if (!this.cfg.username) throw new PowerError('CONFIG', this.cfg.machine, 'validate', 'redfish needs a username');
    await loadPassword(this.cfg.machine, this.cfg, this.deps);
  }

  getPowerState(o: CallOptions = {}): Promise<PowerState> {
    return this.session('status', o, async (ctx) => this.stateOf(await this.getSystem('status', ctx)));
  }

  setPowerState(state: 'on' | 'off', o: CallOptions = {}): Promise<void> {
    return this.session(state, o, (ctx) => this.reset(state, state, ctx));
  }

  reboot(o: CallOptions = {}): Promise<void> {
    return this.session('cycle', o, (ctx) => this.reset('cycle', 'cycle', ctx));
  }

  setBootDevice(req: BootDeviceRequest, o: CallOptions = {}): Promise<void> {
    return this.session('boot-device', o, async (ctx) => {
      const sys = await this.getSystem('boot-device', ctx);
      const boot = (sys.body.Boot ?? {}) as Json;
      const target = BOOT_TARGETS[req.device];
      const patch: Json = { BootSourceOverrideEnabled: 'Once', BootSourceOverrideTarget: target };
      this.requireAllowed(boot, 'BootSourceOverrideTarget', target);
      this.requireAllowed(boot, 'BootSourceOverrideEnabled', 'Once');
      const mode = req.mode ? BOOT_MODES[req.mode] : this.cfg.boot_mode;
      // A BMC without BootSourceOverrideMode boots in its only mode: nothing to send.
      if (mode && 'BootSourceOverrideMode' in boot) {
        this.requireAllowed(boot, 'BootSourceOverrideMode', mode);
        if (boot.BootSourceOverrideMode !== mode) patch.BootSourceOverrideMode = mode;
      }
      const path = sys.path;
      const first = await this.http.call('PATCH', path, 'boot-device', { ...this.req(ctx), body: { Boot: patch } });
      if (first.status >= 200 && first.status < 300) return;
      // Some BMCs demand If-Match (428) or reject a stale one (412): read the ETag and retry once.
      if (first.status !== 428 && first.status !== 412) throw this.http.httpError(first, 'PATCH', path, 'boot-device', ctx.secrets);
      const fresh = await this.getSystem('boot-device', ctx);
      const etag = fresh.etag;
      if (!etag) throw this.http.httpError(first, 'PATCH', path, 'boot-device', ctx.secrets);
      await this.http.ok('PATCH', path, 'boot-device', { ...this.req(ctx), headers: { ...ctx.headers, 'If-Match': etag }, body: { Boot: patch } }, ctx.secrets);
    });
  }

  private stateOf(sys: { body: Json }): PowerState {
    const s = sys.body.PowerState;
    return (typeof s === 'string' && POWER_STATES[s]) || 'unknown';
  }

  private async reset(intent: ResetIntent, action: string, ctx: Ctx): Promise<void> {
    const sys = await this.getSystem(action, ctx);
    const state = this.stateOf(sys);
    const act = ((sys.body.Actions as Json | undefined)?.['#ComputerSystem.Reset'] ?? undefined) as Json | undefined;
    if (!act) throw new PowerError('UNSUPPORTED', this.cfg.machine, action, `${sys.path} has no #ComputerSystem.Reset action`);
    const target = typeof act.target === 'string' ? act.target : `${sys.path}/Actions/ComputerSystem.Reset`;
    const allowable = strings(act['ResetType@Redfish.AllowableValues']) ?? await this.actionInfoValues(act, action, ctx);
    // Nothing to do: On when on and ForceOff when off are errors on some BMCs.
    if ((intent === 'on' && state === 'on') || (intent === 'off' && state === 'off')) return;
    const type = chooseResetType(intent, allowable, state);
    if (!type) throw new PowerError('UNSUPPORTED', this.cfg.machine, action, `no ResetType for ${intent} among ${allowable?.join(', ')}`);
    await this.http.ok('POST', target, action, { ...this.req(ctx), body: { ResetType: type } }, ctx.secrets);
  }

  /** Some services list allowable values in a separate ActionInfo resource instead. */
  private async actionInfoValues(act: Json, action: string, ctx: Ctx): Promise<string[] | undefined> {
    const info = act['@Redfish.ActionInfo'];
    if (typeof info !== 'string') return undefined;
    const r = await this.http.ok('GET', info, action, this.req(ctx), ctx.secrets);
    const params = (r.body as { Parameters?: { Name?: string; AllowableValues?: unknown }[] }).Parameters ?? [];
    return strings(params.find((p) => p.Name === 'ResetType')?.AllowableValues);
  }

  private requireAllowed(boot: Json, prop: string, value: string): void {
    const allowed = strings(boot[`${prop}@Redfish.AllowableValues`]);
    if (allowed && !allowed.includes(value)) {
      throw new PowerError('UNSUPPORTED', this.cfg.machine, 'boot-device', `${prop} ${value} is not offered (allowable: ${allowed.join(', ')})`);
    }
  }

  private async getSystem(action: string, ctx: Ctx): Promise<{ path: string; body: Json; etag: string | undefined }> {
    const path = this.systemPath ?? await this.findSystem(action, ctx);
    const r = await this.http.ok('GET', path, action, this.req(ctx), ctx.secrets);
    const body = (r.body ?? {}) as Json;
    const etag = header(r, 'etag') ?? (typeof body['@odata.etag'] === 'string' ? (body['@odata.etag'] as string) : undefined);
    return { path, body, etag };
  }

  private async findSystem(action: string, ctx: Ctx): Promise<string> {
    if (this.cfg.system) {
      this.systemPath = this.cfg.system.startsWith('/') ? this.cfg.system : `/redfish/v1/Systems/${this.cfg.system}`;
      return this.systemPath;
    }
    const r = await this.http.ok('GET', '/redfish/v1/Systems', action, this.req(ctx), ctx.secrets);
    const members = ((r.body as { Members?: { '@odata.id'?: string }[] }).Members ?? []).map((m) => m['@odata.id']).filter((x): x is string => typeof x === 'string');
    if (members.length !== 1) {
      throw new PowerError('CONFIG', this.cfg.machine, action, members.length === 0
        ? 'the service lists no ComputerSystem'
        : `the service lists ${members.length} systems (${members.join(', ')}): set power.system to one of them`);
    }
    this.systemPath = members[0]!;
    return this.systemPath;
  }

  private req(ctx: Ctx) { return { headers: ctx.headers, timeout: ctx.timeout, signal: ctx.signal }; }

  /**
   * Runs fn authenticated; a session made here is deleted afterwards, whatever fn did. The
   * login and the logout ignore the caller's signal (only their timeout bounds them): a login
   * cut off after the BMC made the session, or a skipped logout, would leave a session behind,
   * and BMCs have few. An abort lands between them, on fn's own requests.
   */
  private async session<T>(action: string, o: CallOptions, fn: (ctx: Ctx) => Promise<T>): Promise<T> {
    const password = await loadPassword(this.cfg.machine, this.cfg, this.deps);
    const basic = Buffer.from(`${this.cfg.username}:${password}`).toString('base64');
    const secrets = [password, basic];
    const base: Ctx = { headers: {}, secrets, timeout: o.timeout, signal: o.signal };
    const mode = this.cfg.auth ?? 'auto';
    if (mode !== 'basic') {
      const unbound = { headers: base.headers, timeout: base.timeout };
      const login = await this.http.call('POST', '/redfish/v1/SessionService/Sessions', action, { ...unbound, body: { UserName: this.cfg.username, Password: password } });
      const token = header(login, 'x-auth-token');
      if (login.status >= 200 && login.status < 300 && token) {
        const location = header(login, 'location') ?? (login.body as { '@odata.id'?: string } | undefined)?.['@odata.id'];
        const ctx: Ctx = { ...base, headers: { 'X-Auth-Token': token }, secrets: [...secrets, token] };
        try {
          if (o.signal?.aborted) throw new PowerError('CANCELLED', this.cfg.machine, action, 'aborted after login');
          return await fn(ctx);
        } finally {
          if (location) await this.http.call('DELETE', location, action, { headers: ctx.headers, timeout: ctx.timeout }).catch(() => undefined);
        }
      }
      // No session service (404/405/501): basic auth, when allowed. Anything else is the answer.
      const noSessions = [404, 405, 501].includes(login.status);
      if (!(mode === 'auto' && noSessions)) throw this.http.httpError(login, 'POST', '/redfish/v1/SessionService/Sessions', action, secrets);
    }
    return fn({ ...base, headers: { Authorization: `Basic ${basic}` } });
  }
}

function header(r: RedfishResponse, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
