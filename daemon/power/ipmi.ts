// The IPMI driver: ipmitool over RMCP+ (lanplus), run through execFile (never a shell). The
// password reaches ipmitool only through IPMI_PASSWORD in the child's environment (-E): argv is
// copied into Node's error messages and so into logs, and it is visible in ps. -C is always
// given: without it ipmitool 1.8.19 first asks the BMC for its cipher list, which cost 10 s per
// call against ipmi_sim here (0.04 s with -C 3).
import { execFile } from 'node:child_process';
import { PowerError } from './errors.js';
import { classifyIpmitool, parsePowerStatus, type IpmiFailure } from './ipmi-errors.js';
import { loadPassword, type CredentialOptions, type PasswordSource } from './credentials.js';
import type { BootDeviceRequest, CallOptions, PowerDriver, PowerState } from './types.js';

export interface IpmiConfig extends PasswordSource {
  machine: string;
  address: string;
  port?: number;
  username: string;
  /** RMCP+ cipher suite tried first (17: HMAC-SHA256/AES). */
  cipher_suite?: number;
  /** Tried when the BMC refuses the first suite (3: HMAC-SHA1/AES, the common denominator). */
  fallback_cipher_suite?: number;
}

export interface IpmiDeps extends CredentialOptions {
  /** ipmitool binary (default: from PATH). */
  ipmitool?: string;
  /** ipmitool's own per-packet timeout (-N, seconds) and retransmissions (-R). */
  packetTimeout?: number;
  packetRetries?: number;
  /** Default bound of one ipmitool run when the caller gives none (ms). */
  timeout?: number;
  /** Replaces execFile (unit tests). */
  exec?: IpmiExec;
}

export interface IpmiRun { stdout: string; stderr: string; exitCode: number; timedOut: boolean; notFound: boolean }
export type IpmiExec = (file: string, args: string[], env: NodeJS.ProcessEnv, timeout: number, signal?: AbortSignal) => Promise<IpmiRun>;

const realExec: IpmiExec = (file, args, env, timeout, signal) => new Promise((resolve) => {
  execFile(file, args, { env, timeout, signal, killSignal: 'SIGKILL', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
    const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
    resolve({
      stdout: String(stdout), stderr: String(stderr),
      exitCode: e ? (typeof e.code === 'number' ? e.code : -1) : 0,
      timedOut: Boolean(e?.killed) || e?.name === 'AbortError',
      notFound: e?.code === 'ENOENT',
    });
  });
});

export class IpmiDriver implements PowerDriver {
  readonly kind = 'ipmi' as const;
  readonly capabilities = { readsState: true, powerOff: true, bootDevice: true };
  readonly bmcKey: string;
  private readonly port: number;
  /** The suite that last worked: later calls skip the refused one. */
  private suite: number;

  constructor(private readonly cfg: IpmiConfig, private readonly deps: IpmiDeps = {}) {
    this.port = cfg.port ?? 623;
    this.bmcKey = `${cfg.address}:${this.port}`;
    this.suite = cfg.cipher_suite ?? 17;
  }

  /** The cipher suite the next call will use (for logs and tests). */
  get cipherSuite(): number { return this.suite; }

  async validate(): Promise<void> {
    if (!this.cfg.address) throw new PowerError('CONFIG', this.cfg.machine, 'validate', 'ipmi needs an address');
    if (!this.cfg.username) throw new PowerError('CONFIG', this.cfg.machine, 'validate', 'ipmi needs a username');
    await loadPassword(this.cfg.machine, this.cfg, this.deps);
  }

  async getPowerState(opts: CallOptions = {}): Promise<PowerState> {
    const out = await this.run('status', ['chassis', 'power', 'status'], opts);
    const state = parsePowerStatus(out);
    if (!state) throw new PowerError('BMC_ERROR', this.cfg.machine, 'status', `unexpected answer: ${out.trim().slice(0, 200)}`);
    return state;
  }

  async setPowerState(state: 'on' | 'off', opts: CallOptions = {}): Promise<void> {
    await this.run(state, ['chassis', 'power', state], opts);
  }

  async reboot(opts: CallOptions = {}): Promise<void> {
    // Real BMCs refuse "power cycle" when the chassis is off: then a cycle is just "on".
    const state = await this.getPowerState(opts);
    await this.run('cycle', ['chassis', 'power', state === 'off' ? 'on' : 'cycle'], opts);
  }

  async setBootDevice(req: BootDeviceRequest, opts: CallOptions = {}): Promise<void> {
    // ipmitool sets "valid for the next boot only" unless options=persistent is given.
    const args = ['chassis', 'bootdev', req.device === 'pxe' ? 'pxe' : 'disk'];
    if (req.mode === 'uefi') args.push('options=efiboot');
    await this.run('boot-device', args, opts);
  }

  private async run(action: string, command: string[], opts: CallOptions): Promise<string> {
    const password = await loadPassword(this.cfg.machine, this.cfg, this.deps);
    const first = await this.once(action, command, this.suite, password, opts);
    if (first.ok) return first.stdout;
    const fallback = this.cfg.fallback_cipher_suite ?? 3;
    if (first.failure.cipher && fallback !== this.suite) {
      const second = await this.once(action, command, fallback, password, opts);
      if (second.ok) { this.suite = fallback; return second.stdout; }
      throw this.error(second.failure, action, password);
    }
    throw this.error(first.failure, action, password);
  }

  private async once(action: string, command: string[], suite: number, password: string, opts: CallOptions):
    Promise<{ ok: true; stdout: string } | { ok: false; failure: IpmiFailure }> {
    const args = [
      '-I', 'lanplus', '-H', this.cfg.address, '-p', String(this.port), '-U', this.cfg.username, '-E',
      '-C', String(suite), '-N', String(this.deps.packetTimeout ?? 1), '-R', String(this.deps.packetRetries ?? 2),
      // -v: the only way ipmitool tells a wrong password from an absent BMC (ipmi-errors.ts).
      '-v', ...command,
    ];
    // A minimal environment: LC_ALL=C keeps the messages the table expects.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', IPMI_PASSWORD: password };
    const timeout = opts.timeout ?? this.deps.timeout ?? 15_000;
    const r = await (this.deps.exec ?? realExec)(this.deps.ipmitool ?? 'ipmitool', args, env, timeout, opts.signal);
    if (r.notFound) return { ok: false, failure: { code: 'CONFIG', message: 'ipmitool is not installed (Debian package ipmitool)', cipher: false, notSent: true } };
    if (r.timedOut) return { ok: false, failure: { code: 'TIMEOUT', message: `ipmitool ${action} took longer than ${timeout} ms`, cipher: false } };
    const failure = classifyIpmitool(r.stderr, r.exitCode);
    if (failure) return { ok: false, failure: { ...failure, message: `${failure.message} (cipher suite ${suite})` } };
    return { ok: true, stdout: r.stdout };
  }

  private error(f: IpmiFailure, action: string, password: string): PowerError {
    const e = new PowerError(f.code, this.cfg.machine, action, f.message, [password]);
    return f.notSent ? e.beforeSending() : e;
  }
}
