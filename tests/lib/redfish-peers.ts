// Third-party Redfish services for tests, run from ../shared/peers (see its README.md) with
// Debian's /usr/bin/python3: OpenStack sushy-tools (emulator with its fake driver, and the static
// mockup server) and DMTF's Redfish-Mockup-Server. Each runs from its own temporary folder with
// stdin from /dev/null and stdout/stderr in a log file there, listens on 127.0.0.1 on a free port,
// and counts as started once GET /redfish/v1/ answers 200. Every process started here is killed
// by close(), and with SIGKILL when the test process exits (or dies: parent-death signal).
//
// What these services do (observed with curl against the copies in ../shared/peers):
//
// sushy-tools emulator (sushy_tools.emulator.main, fake driver; Werkzeug 2.2, HTTP/1.1 but every
// answer carries Connection: close)
// - Service root: Systems, Managers, Chassis, Registries, CertificateService, UpdateService; NO
//   SessionService and NO Links.Sessions. /redfish/v1 and /redfish/v1/ answer 200; /redfish and /
//   answer 404. Errors are {error:{code:'Base.1.0.GeneralError', message, '@Message.ExtendedInfo':
//   [{MessageId:'Base.1.0.GeneralError'}]}} (no Message in ExtendedInfo; the text is error.message).
// - No auth configured: everything is open; POST /redfish/v1/SessionService/Sessions → 404 (JSON
//   error body, no token, no Location). DELETE of a session → 404.
// - Auth configured (SUSHY_EMULATOR_AUTH_FILE): only /, /redfish, /redfish/v1[/] are open; every
//   other request without valid Basic credentials → 401 with WWW-Authenticate: Basic realm="Baremetal
//   API" and message 'Authorization required' (no header) or 'Incorrect username or password'. The
//   session POST without Authorization → that same 401; with valid Basic → 404. X-Auth-Token is
//   not understood (→ 401); a non-Basic Authorization (Bearer) or undecodable Basic → 500 with an
//   HTML body (a bug in its error path). Basic is checked per request with bcrypt: the hashes made
//   here use cost 4 so that costs ~1 ms, not ~250 ms.
// - No ETag header and no @odata.etag anywhere; If-Match is ignored (a wrong one still → 204).
// - Systems are addressed by uuid (the Id; the collection lists uuids). By its name: 307 with a
//   relative Location: /redfish/v1/Systems/<uuid> (also for PATCH, the Reset action and subpaths;
//   with auth, only after the credentials pass).
// - PATCH {Boot:{...}} → 204 with no body. BootSourceOverrideTarget is not checked against the
//   allowable values (Floppy is stored); BootSourceOverrideEnabled is ignored and always reads
//   Continuous; a PATCH with only BootSourceOverrideEnabled → 400 with a plain-text body. Mode Legacy
//   removes UefiHttp from the target's AllowableValues. A request without Content-Type:
//   application/json (PATCH or Reset) → 400. HttpBootUri reads as the string "None".
// - Reset → 204, nothing else (no Location, no task). Accepted: On, ForceOn, ForceOff,
//   GracefulShutdown, ForceRestart, GracefulRestart; PowerCycle, Nmi, PushPowerButton, anything else
//   → 501 'Power state X is not supported' (though Nmi is in its AllowableValues and PowerCycle is
//   not). No ResetType → 500. Unknown system → 404.
// - The power change lands 1 to 11 s after the Reset (random; observed 1.3 s to 8 s). Restarts turn
//   the system Off at once and On 1–11 s later. The driver compares a new Reset with the CURRENT
//   state, not the pending one: ForceOff then On at once (while still On) ends Off — the On is a
//   no-op and the pending ForceOff still lands. A Reset to the state it is already in is a no-op 204.
// - TLS (SUSHY_EMULATOR_SSL_CERT/_KEY): TLS 1.2 only (ssl.PROTOCOL_TLSv1_2).
// - Its fake-driver state lives in SUSHY_EMULATOR_STATE_DIR/fakedriver.sqlite (default
//   /tmp/sushy-emulator, shared between runs: a system whose uuid is already there keeps its old
//   state), so each emulator here gets its own state folder.
//
// sushy-tools static (sushy_tools.static.main -m DIR; http.server, HTTP/1.0)
// - Serves DIR/<path after /redfish/v1>/index.json; DMTF's public-rackmount1 folder (short form)
//   fits as is. A query string is not stripped (?$expand=. → 404). 404s are HTML.
// - No auth at all (any Authorization is ignored). Root has SessionService and Links.Sessions.
// - Every POST → 204 with no body and no headers (so the session POST: no X-Auth-Token, no
//   Location); every PATCH → 204 and nothing is stored; DELETE → 501. No ETags.
// - System: /redfish/v1/Systems/437XR1138R2 (Name WebFrontEnd483), PowerState On, never changes.
//
// DMTF Redfish-Mockup-Server (redfishMockupServer.py -S -D public-rackmount1; http.server,
// HTTP/1.0, single-threaded)
// - It imports rfSsdpServer, which the copy in ../shared/peers lacks: a stub is put on PYTHONPATH
//   beside the grequests stub.
// - No auth at all. Root has SessionService and Links.Sessions (/redfish/v1/SessionService/Sessions).
//   /redfish answers {v1:'/redfish/v1'}; / → 404.
// - POST Sessions → 204, X-Auth-Token: 1234567890ABCDEF (always the same), Location:
//   /redfish/v1/SessionService/Sessions/1234567890ABCDEF1, …2, … (a member is added; GET of it
//   echoes the request body, Password included). DELETE of it → 204, then 404.
// - No ETag header and no @odata.etag on the system; If-Match is ignored. PATCH → 204, merged and
//   stored as sent (no validation: Floppy is kept); an empty {} → 400.
// - Reset (any ResetType, even a bogus one) → 204 and nothing changes: PowerState stays On. A POST
//   without Content-Length → 411. Not addressable by Name (→ 404).
// - System id: 437XR1138R2 (the only member of /redfish/v1/Systems), Name WebFrontEnd483.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve, isAbsolute } from 'node:path';
import { freeTcpPort } from '../fixtures/power/helpers.js';
import { makeSelfSignedCert } from './self-signed-cert.js';
import { peerRequest } from './http-request.js';
import { tempDir } from './tmp.js';

const repoRoot = new URL('../../', import.meta.url).pathname;
/** The shared third-party services: the folder `shared` beside the checkout. */
export const PEERS_DIR = resolve(repoRoot, '../shared/peers');
const PYTHON = '/usr/bin/python3';
const SUSHY_DIR = join(PEERS_DIR, 'sushy-tools');
const MOCKUP_SERVER_DIR = join(PEERS_DIR, 'redfish-mockup-server');
/** DMTF's rack-server mockup; short form (index.json at its top, no redfish/v1 folders). */
export const PUBLIC_RACKMOUNT1 = join(MOCKUP_SERVER_DIR, 'public-rackmount1');

export interface RedfishPeer {
  /** http://127.0.0.1:PORT or https://…, without a trailing slash. */
  url: string;
  port: number;
  pid: number;
  /** The self-signed certificate to trust (tls only). */
  caFile?: string;
  logFile: string;
  close(): Promise<void>;
}

export interface FakeSystem { uuid: string; name: string; power_state?: 'On' | 'Off'; nics?: { mac: string }[] }

const live = new Set<ChildProcess>();
process.on('exit', () => { for (const c of live) c.kill('SIGKILL'); });

/** sushy-tools' emulator with its fake driver: no libvirt, power changes land 1–11 s later. */
export async function startSushyEmulator(opts: { systems: FakeSystem[]; auth?: { username: string; password: string }; tls?: boolean }): Promise<RedfishPeer> {
  const dir = tempDir('sushy-emulator');
  const systems = opts.systems.map((s) => ({ uuid: s.uuid, name: s.name, power_state: s.power_state ?? 'Off', nics: s.nics ?? [], external_notifier: false }));
  const config: Record<string, unknown> = {
    SUSHY_EMULATOR_LISTEN_IP: '127.0.0.1',
    SUSHY_EMULATOR_FAKE_DRIVER: true,
    SUSHY_EMULATOR_FAKE_SYSTEMS: systems,
    SUSHY_EMULATOR_STATE_DIR: join(dir, 'state'),
  };
  if (opts.auth) config.SUSHY_EMULATOR_AUTH_FILE = writeHtpasswd(dir, opts.auth);
  const cert = opts.tls ? makeSelfSignedCert(dir) : undefined;
  if (cert) { config.SUSHY_EMULATOR_SSL_CERT = cert.certFile; config.SUSHY_EMULATOR_SSL_KEY = cert.keyFile; }
  return startPeer({
    dir, tag: 'sushy-emulator', pythonPath: [SUSHY_DIR], caFile: cert?.certFile,
    argv: (port) => {
      const file = join(dir, 'emulator.conf');
      writeFileSync(file, Object.entries({ ...config, SUSHY_EMULATOR_LISTEN_PORT: port }).map(([k, v]) => `${k} = ${pyLiteral(v)}\n`).join(''));
      return ['-m', 'sushy_tools.emulator.main', '--config', file];
    },
  });
}

/** sushy-tools' static server: GET serves the mockup's files, every POST and PATCH → 204. */
export async function startSushyStatic(mockupDir: string = PUBLIC_RACKMOUNT1, opts: { tls?: boolean } = {}): Promise<RedfishPeer> {
  const dir = tempDir('sushy-static');
  const cert = opts.tls ? makeSelfSignedCert(dir) : undefined;
  return startPeer({
    dir, tag: 'sushy-static', pythonPath: [SUSHY_DIR], caFile: cert?.certFile,
    argv: (port) => ['-m', 'sushy_tools.static.main', '-i', '127.0.0.1', '-p', String(port), '-m', mockupDir,
      ...(cert ? ['-c', cert.certFile, '-k', cert.keyFile] : [])],
  });
}

/** DMTF's Redfish-Mockup-Server; `mockup` is a folder name under redfish-mockup-server/ or a path. */
export async function startMockupServer(opts: { mockup?: string; tls?: boolean } = {}): Promise<RedfishPeer> {
  const dir = tempDir('mockup-server');
  const mockup = opts.mockup ?? 'public-rackmount1';
  const mockupDir = isAbsolute(mockup) ? mockup : join(MOCKUP_SERVER_DIR, mockup);
  // grequests (event delivery) is not in Debian and rfSsdpServer (SSDP) is missing from the copy;
  // neither is used without -P or test events.
  const stubs = join(dir, 'py');
  mkdirSync(stubs);
  copyFileSync(join(MOCKUP_SERVER_DIR, 'grequests_stub.py'), join(stubs, 'grequests.py'));
  if (!existsSync(join(MOCKUP_SERVER_DIR, 'rfSsdpServer.py'))) {
    writeFileSync(join(stubs, 'rfSsdpServer.py'), 'class RfSSDPServer:\n    def __init__(self, *args, **kwargs):\n        raise RuntimeError("rfSsdpServer stub: SSDP is not available")\n');
  }
  const cert = opts.tls ? makeSelfSignedCert(dir) : undefined;
  // A "tall" mockup has a redfish/ folder at its top; DMTF's published ones are short form (-S).
  const shortForm = !existsSync(join(mockupDir, 'redfish'));
  return startPeer({
    dir, tag: 'mockup-server', pythonPath: [stubs], caFile: cert?.certFile,
    argv: (port) => [join(MOCKUP_SERVER_DIR, 'redfishMockupServer.py'), '-H', '127.0.0.1', '-p', String(port), '-D', mockupDir,
      ...(shortForm ? ['-S'] : []), ...(cert ? ['-s', '--cert', cert.certFile, '--key', cert.keyFile] : [])],
  });
}

interface PeerSpec {
  dir: string;
  tag: string;
  pythonPath: string[];
  caFile: string | undefined;
  argv: (port: number) => string[];
}

/** Starts the service on a free port; a port taken between probe and bind is retried. */
async function startPeer(spec: PeerSpec): Promise<RedfishPeer> {
  if (!existsSync(PEERS_DIR)) throw new Error(`Redfish peers not found at ${PEERS_DIR} (the folder shared/peers beside the checkout)`);
  for (let attempt = 1; ; attempt++) {
    const port = await freeTcpPort();
    const logFile = join(spec.dir, `${spec.tag}-${port}.log`);
    const fd = openSync(logFile, 'a');
    // setpriv (util-linux) makes the kernel SIGKILL the service if this process dies without
    // running its exit handler (SIGKILLed test runner); it then execs python, keeping the pid.
    const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', PYTHON, ...spec.argv(port)], {
      cwd: spec.dir,
      stdio: ['ignore', fd, fd],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: spec.dir, TMPDIR: spec.dir, LANG: 'C.UTF-8',
        PYTHONPATH: spec.pythonPath.join(':'), PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1',
      },
    });
    closeSync(fd);
    live.add(child);
    const exited = new Promise<void>((r) => child.once('exit', () => { live.delete(child); r(); }));
    const scheme = spec.caFile ? 'https' : 'http';
    const url = `${scheme}://127.0.0.1:${port}`;
    const close = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
    };
    try {
      await waitUntilAnswering(url, spec.caFile, child, logFile);
    } catch (err) {
      await close();
      if (attempt < 3 && /Address already in use/.test(logTail(logFile))) continue;
      throw err;
    }
    return { url, port, pid: child.pid!, ...(spec.caFile ? { caFile: spec.caFile } : {}), logFile, close };
  }
}

async function waitUntilAnswering(url: string, caFile: string | undefined, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${url}: exited (${child.exitCode ?? child.signalCode}) before answering; log ${logFile}:\n${logTail(logFile)}`);
    }
    try {
      const r = await peerRequest(`${url}/redfish/v1/`, { caFile, timeoutMs: 2000 });
      if (r.status === 200) return;
      last = `status ${r.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url}: GET /redfish/v1/ did not answer 200 in 20 s (last: ${last}); log ${logFile}:\n${logTail(logFile)}`);
}

function logTail(file: string): string {
  try { return readFileSync(file, 'utf8').slice(-3000); } catch { return '(no log)'; }
}

/** An Apache htpasswd file with a bcrypt hash, the only digest sushy-tools accepts. */
function writeHtpasswd(dir: string, auth: { username: string; password: string }): string {
  const hash = execFileSync(PYTHON, ['-c', 'import bcrypt, sys; print(bcrypt.hashpw(sys.stdin.buffer.read(), bcrypt.gensalt(rounds=4)).decode())'],
    { input: auth.password, encoding: 'utf8' }).trim();
  const file = join(dir, 'htpasswd');
  writeFileSync(file, `${auth.username}:${hash}\n`, { mode: 0o600 });
  return file;
}

/** A JSON-like value as a Python literal, for sushy's config file (which is Python). */
function pyLiteral(v: unknown): string {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v); // JSON string escapes are valid in Python
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}: ${pyLiteral(x)}`).join(', ')}}`;
}
