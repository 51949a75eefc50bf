// OpenIPMI's ipmi_sim as a lab BMC: writes its lan.conf and command file, starts it, stops it by
// PID. The facts (command file lines, -n with stdin from /dev/null, the VM serial codec that
// boot-device commands need) are in ../shared/NOTES.md. Used by the power tests and the QEMU lab.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, openSync, closeSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { shellQuote } from './qemu.js';

export interface IpmiSimConfig {
  /** Folder for lan.conf, the command file, the state dir, the control script and logs. */
  dir: string;
  address?: string;
  /** UDP port of the RMCP+ listener. */
  port: number;
  /** TCP port for QEMU's ipmi-bmc-extern chardev (`serial kcs … codec VM`): the guest's KCS. */
  serialPort?: number;
  username: string;
  password: string;
  /**
   * argv of the VM started on power on, without -nographic (qemuArgs({headless: true})) and
   * without -daemonize/-pidfile/-boot once, which the control script adds. Undefined: a BMC with no machine behind it.
   */
  vmArgv?: string[];
}

export interface IpmiSimFiles {
  lanConf: string; cmdFile: string; stateDir: string; log: string;
  /** The chassis_control program ipmi_sim runs for power, reset and boot device. */
  control: string;
  /** PID of the running VM, written by QEMU (-pidfile). */
  vmPid: string;
  /** Pending one-time boot device (pxe, default, …), consumed by the next start. */
  bootdev: string;
  /** One line per VM start: the full argv used, so a test can see the boot override applied. */
  starts: string;
}

export function ipmiSimFiles(dir: string): IpmiSimFiles {
  return {
    lanConf: join(dir, 'lan.conf'),
    cmdFile: join(dir, 'ipmisim.emu'),
    stateDir: join(dir, 'state'),
    log: join(dir, 'ipmi_sim.log'),
    control: join(dir, 'chassis-control.sh'),
    vmPid: join(dir, 'vm.pid'),
    bootdev: join(dir, 'bootdev'),
    starts: join(dir, 'vm-starts.log'),
  };
}

/** ipmi_sim's config syntax quotes strings with "…"; refuse what it cannot carry. */
function q(s: string): string {
  if (/["\\\n]/.test(s)) throw new Error(`ipmi_sim config cannot quote ${JSON.stringify(s)}`);
  return `"${s}"`;
}

export function lanConf(c: IpmiSimConfig, files: IpmiSimFiles): string {
  const addr = c.address ?? '127.0.0.1';
  const lines = [
    '# Written by rackhand daemon/lab/ipmi-sim.ts',
    'name "rackhand-lab"',
    'set_working_mc 0x20',
    '  startlan 1',
    `    addr ${addr} ${c.port}`,
    '    priv_limit admin',
    '    allowed_auths_callback none md2 md5 straight',
    '    allowed_auths_user none md2 md5 straight',
    '    allowed_auths_operator none md2 md5 straight',
    '    allowed_auths_admin none md2 md5 straight',
    '    guid a123456789abcdefa123456789abcdef',
    '  endlan',
  ];
  if (c.serialPort !== undefined) lines.push(`  serial kcs ${addr} ${c.serialPort} codec VM`);
  // Not startcmd: ipmi_sim 2.0.33 answers Set System Boot Options only through a chassis_control
  // program (bmc_chassis.c), and once one is set it handles power too. So the program owns the
  // VM: power on starts QEMU with the pending boot device, power off stops it by its pidfile.
  if (c.vmArgv) lines.push(`  chassis_control ${q(files.control)}`);
  lines.push(`  user 1 true "" "" user 10 none md2 md5 straight`);
  lines.push(`  user 2 true ${q(c.username)} ${q(c.password)} admin 10 none md2 md5 straight`);
  return lines.join('\n') + '\n';
}

export function commandFile(): string {
  return [
    'mc_setbmc 0x20',
    'mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr',
    'sel_enable 0x20 1000 0x0a',
    'mc_enable 0x20',
  ].join('\n') + '\n';
}

/**
 * The chassis_control program: `PROG get PARM…` prints `parm:value` lines; `PROG set PARM VAL…`
 * acts (ipmi_sim runs it through popen, see extcmd.c). Parameters: power (0/1), reset, boot (none, pxe, default,
 * cdrom, bios), shutdown, identify. POSIX sh because ipmi_sim waits for it on every call.
 */
export function controlScript(argv: readonly string[], files: IpmiSimFiles): string {
  const sq = (s: string) => shellQuote([s]);
  return `#!/bin/sh
# Written by rackhand daemon/lab/ipmi-sim.ts: ipmi_sim's chassis_control for one lab VM.
PIDF=${sq(files.vmPid)}
BOOTF=${sq(files.bootdev)}
STARTS=${sq(files.starts)}
# A zombie (state Z) is gone: nothing here reaps the daemonized QEMU at once.
running() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]; }
alive() { [ -s "$PIDF" ] && running "$(cat "$PIDF")"; }
start() {
  alive && return 0
  extra=""
  case "$(cat "$BOOTF" 2>/dev/null)" in
    pxe) extra="-boot once=n" ;;
    default|none|"") ;;
    *) extra="-boot once=c" ;;
  esac
  rm -f "$BOOTF" "$PIDF"   # one-time: the override is consumed by this start
  set -- ${shellQuote(argv)} -daemonize -pidfile "$PIDF" $extra
  echo "$*" >> "$STARTS"
  "$@" </dev/null >/dev/null 2>&1
}
stop() {
  alive || { rm -f "$PIDF"; return 0; }
  pid=$(cat "$PIDF"); kill "$pid" 2>/dev/null
  n=0; while running "$pid" && [ $n -lt 30 ]; do sleep 0.1; n=$((n+1)); done
  kill -9 "$pid" 2>/dev/null; rm -f "$PIDF"
}
op=$1; shift
case $op in
  get)
    for p in "$@"; do
      case $p in
        power) if alive; then echo "power:1"; else echo "power:0"; fi ;;
        boot) b=$(cat "$BOOTF" 2>/dev/null); echo "boot:\${b:-default}" ;;
        *) echo "Invalid parameter: $p"; exit 1 ;;
      esac
    done ;;
  set)
    while [ $# -gt 0 ]; do
      p=$1; v=$2; shift 2 || { echo "No value for $p"; exit 1; }
      case $p in
        power) if [ "$v" = 1 ]; then start; else stop; fi ;;
        reset) stop; start ;;
        shutdown) stop ;;
        boot) echo "$v" > "$BOOTF" ;;
        identify) shift ;;
        *) echo "Invalid parameter: $p"; exit 1 ;;
      esac
    done ;;
  *) echo "Unknown operation: $op"; exit 1 ;;
esac
exit 0
`;
}

export function writeIpmiSimConfig(c: IpmiSimConfig): IpmiSimFiles {
  const files = ipmiSimFiles(c.dir);
  mkdirSync(files.stateDir, { recursive: true });
  writeFileSync(files.lanConf, lanConf(c, files), { mode: 0o600 });
  writeFileSync(files.cmdFile, commandFile());
  if (c.vmArgv) {
    writeFileSync(files.control, controlScript(c.vmArgv, files));
    chmodSync(files.control, 0o700);
  }
  return files;
}

/** PID of the lab VM when it runs (from QEMU's pidfile), else undefined. */
export function vmPid(files: IpmiSimFiles): number | undefined {
  try {
    const pid = Number(readFileSync(files.vmPid, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    return processRunning(pid) ? pid : undefined;
  } catch { return undefined; }
}

export interface IpmiSim { pid: number; files: IpmiSimFiles; child: ChildProcess; stop(): Promise<void> }

/** Starts ipmi_sim and resolves once its UDP port answers an RMCP ping (or rejects). */
export async function startIpmiSim(c: IpmiSimConfig, opts: { readyTimeout?: number } = {}): Promise<IpmiSim> {
  const files = writeIpmiSimConfig(c);
  const out = openSync(files.log, 'a');
  // -n: no console; stdin /dev/null: ipmi_sim asserts when stdin cannot be polled.
  const child = spawn('ipmi_sim', ['-c', files.lanConf, '-f', files.cmdFile, '-s', files.stateDir, '-n'], {
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error('ipmi_sim did not start (is the openipmi package installed?)');
  let exited = false;
  child.on('exit', () => { exited = true; });
  const stop = async () => {
    // The VM was daemonized by the control script: it outlives ipmi_sim unless ended here.
    const vm = vmPid(files);
    if (vm !== undefined) { try { process.kill(vm, 'SIGKILL'); } catch { /* already gone */ } }
    if (exited) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 3000);
    await gone;
    clearTimeout(t);
  };
  const deadline = Date.now() + (opts.readyTimeout ?? 5000);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`ipmi_sim exited at start: ${readFileSync(files.log, 'utf8').slice(-500)}`);
    if (await rmcpPing(c.address ?? '127.0.0.1', c.port)) return { pid, files, child, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`ipmi_sim did not answer on UDP ${c.port} within ${opts.readyTimeout ?? 5000} ms`);
}

/** One ASF presence ping (RMCP class 6): true when a pong comes back within 300 ms. */
export async function rmcpPing(host: string, port: number): Promise<boolean> {
  const { createSocket } = await import('node:dgram');
  const ping = Buffer.from([0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x80, 0x00, 0x00, 0x00]);
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (v: boolean) => { clearTimeout(t); s.close(); resolve(v); };
    const t = setTimeout(() => done(false), 300);
    s.on('message', () => done(true));
    s.on('error', () => done(false));
    s.send(ping, port, host);
  });
}

/** True while the process exists and is not a zombie (PID 1 here reaps orphans late). */
export function processRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch { return false; }
}
