// The lab's supervisor: runs inside the lab's namespace, starts one ipmi_sim BMC per machine
// (each starting its QEMU VM on power on) and the daemon itself (a racked lab: one per rack), and
// stops them all on SIGTERM.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startIpmiSim, type IpmiSim } from './ipmi-sim.js';
import { qemuArgs, QEMU_BINARY } from './qemu.js';
import { readConfig, LAB_API, REDFISH_PORT, type LabConfig } from './lab.js';
import { rackFiles } from './lab-racks.js';
import { labPostgresUrl } from './postgres.js';
import { startRedfishEmulator, type RedfishEmulator } from './redfish-emulator/server.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Logger } from '../log.js';

export async function supervise(dir: string, main: string, logger: Logger): Promise<void> {
  const c = readConfig(dir);
  if (!c) throw new Error(`no lab in ${dir} (rackhand lab up)`);
  const password = readFileSync(join(dir, 'bmc-password'), 'utf8').trim();
  const bmcs: IpmiSim[] = [];
  let redfish: RedfishEmulator | undefined;
  const stopAll = async () => {
    for (const b of bmcs) await b.stop().catch(() => undefined);
    await redfish?.close().catch(() => undefined);
  };
  try {
    const uefi = c.machines.filter((m) => m.bmc === 'redfish');
    if (uefi.length) {
      redfish = await startRedfishEmulator({
        dir: join(dir, 'redfish'), host: '127.0.0.1', port: REDFISH_PORT, username: 'admin', password,
        systems: uefi.map((m) => ({
          id: m.name, name: m.name, mac: m.mac, bootMode: 'UEFI' as const,
          // No NIC ROM: OVMF's own PXE client boots, as on a UEFI server, so the lab's UEFI
          // machines take the firmware → TFTP ipxe.efi → iPXE path (and their boot trace shows it).
          vm: { name: m.name, memory: 512, mac: m.mac, net: { kind: 'tap' as const, ifname: m.tap }, disk: m.disk, nicRom: false, extra: consoleArgs(dir, m.name) },
        })),
      });
      logger.info({ machines: uefi.map((m) => m.name), url: redfish.url }, 'Redfish BMC listening');
    }
    for (const m of c.machines.filter((x) => x.bmc === 'ipmi')) {
      const vmArgv = [QEMU_BINARY, ...qemuArgs({
        name: m.name, memory: 512, mac: m.mac, net: { kind: 'tap', ifname: m.tap }, disk: m.disk, firmware: m.firmware,
        // Network first, like a rack whose machines always PXE: Rackhand's script says `exit`
        // (boot the disk) when a machine has nothing to do.
        bootOrder: 'nc', ipmiBmc: { host: '127.0.0.1', port: m.serialPort }, headless: true,
        extra: consoleArgs(dir, m.name),
      })];
      const bmc = await startIpmiSim({ dir: join(dir, `bmc-${m.name}`), port: m.bmcPort, serialPort: m.serialPort, username: 'admin', password, vmArgv });
      writeFileSync(join(dir, `bmc-${m.name}`, 'ipmi_sim.pid'), String(bmc.pid));
      bmcs.push(bmc);
      logger.info({ machine: m.name, bmc: `127.0.0.1:${m.bmcPort}` }, `BMC for ${m.name} listening`);
    }
    const daemons = await startDaemons(dir, main, c, logger);
    writeFileSync(join(dir, 'supervisor.ready'), new Date().toISOString());
    const stop = async (signal: string) => {
      logger.info({ signal }, 'lab supervisor stopping');
      for (const d of daemons) await d.stop();
      await stopAll();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    process.on('SIGHUP', () => { for (const d of daemons) d.signal('SIGHUP'); });
    // `lab restart-rack NAME`: start again a rack daemon that was killed (its request file names it).
    process.on('SIGUSR2', () => {
      for (const d of daemons) {
        if (d.rack && existsSync(rackFiles(dir, d.rack).restart)) { rmSync(rackFiles(dir, d.rack).restart, { force: true }); d.restart(); }
      }
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * The daemons, in order, each ready before the next starts (so only one migrates the database).
 * One rack (no racks): the daemon on SQLite, restarted when it dies, as systemd's
 * Restart=on-failure would (the lab is where a kill -9 in the middle of a deploy is tried).
 * Racks: a daemon per rack on the lab's PostgreSQL, left dead when killed, since a dead rack is
 * what its standby must notice; `lab restart-rack` brings it back. They share one API token file.
 */
async function startDaemons(dir: string, main: string, c: LabConfig, logger: Logger): Promise<SupervisedDaemon[]> {
  const common = [process.execPath, ...process.execArgv, main, 'serve', '--inventory', join(dir, 'inventory.yaml'), '--listen', '0.0.0.0'];
  if (!c.racks) {
    const d = superviseDaemon({ argv: [...common, '--state-dir', join(dir, 'state'), '--port', String(LAB_API.port)], log: join(dir, 'daemon.log'), pid: join(dir, 'daemon.pid'), restartOnExit: true }, logger);
    await d.ready();
    return [d];
  }
  const store = labPostgresUrl(dir);
  const daemons: SupervisedDaemon[] = [];
  const firstState = rackFiles(dir, c.racks[0]!.name).state;
  for (const r of c.racks) {
    const f = rackFiles(dir, r.name);
    if (daemons.length && !existsSync(join(f.state, 'tokens.json'))) {
      mkdirSync(f.state, { recursive: true, mode: 0o700 });
      copyFileSync(join(firstState, 'tokens.json'), join(f.state, 'tokens.json'));
    }
    const d = superviseDaemon({
      rack: r.name, argv: [...common, '--rack', r.name, '--store', store, '--state-dir', f.state, '--port', String(r.port)],
      log: f.log, pid: f.pid, up: f.up, restartOnExit: false,
    }, logger);
    await d.ready();
    logger.info({ rack: r.name, port: r.port }, `${r.name}'s daemon listening on port ${r.port}`);
    daemons.push(d);
  }
  return daemons;
}

interface DaemonSpec {
  rack?: string;
  argv: string[];
  log: string;
  pid: string;
  /** Holds the PID while the daemon listens. */
  up?: string;
  restartOnExit: boolean;
}

interface SupervisedDaemon {
  rack?: string;
  /** Resolves once the daemon (as last started) listens. */
  ready(): Promise<void>;
  signal(s: NodeJS.Signals): void;
  /** Starts it again if it is not running. */
  restart(): void;
  stop(): Promise<void>;
}

/** One daemon as a child process, its output appended to its log, its PID in its PID file. */
function superviseDaemon(spec: DaemonSpec, logger: Logger): SupervisedDaemon {
  let child: ChildProcess | undefined;
  let stopping = false;
  let ready: Promise<void> = Promise.resolve();
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const start = () => {
    let resolveReady!: () => void;
    let failed!: (err: Error) => void;
    ready = new Promise<void>((r, f) => { resolveReady = r; failed = f; });
    ready.catch(() => undefined); // a restart nobody awaits must not be an unhandled rejection
    const log = openSync(spec.log, 'a');
    const c = spawn(spec.argv[0]!, spec.argv.slice(1), { stdio: ['ignore', 'pipe', log] });
    child = c;
    closeSync(log);
    writeFileSync(spec.pid, String(c.pid));
    let seen = '';
    c.stdout!.on('data', (d: Buffer) => {
      writeFileSync(spec.log, d, { flag: 'a' });
      if (seen !== 'up') {
        seen += d;
        if (seen.includes('HTTP listening')) { seen = 'up'; if (spec.up) writeFileSync(spec.up, String(c.pid)); resolveReady(); }
      }
    });
    c.on('exit', (code, signal) => {
      if (spec.up) rmSync(spec.up, { force: true });
      if (seen !== 'up') failed(new Error(`${spec.rack ?? 'the'} daemon exited (${signal ?? code}) before it listened: see ${spec.log}`));
      if (stopping) return;
      if (!spec.restartOnExit) {
        logger.warn({ rack: spec.rack, code, signal }, `${spec.rack ?? 'the'} daemon died; left down (rackhand lab restart-rack ${spec.rack ?? ''})`);
        return;
      }
      logger.warn({ code, signal }, 'the daemon died; restarting it in 1 s');
      setTimeout(start, 1000);
    });
  };
  start();
  return {
    rack: spec.rack,
    ready: () => ready,
    signal: (s) => { if (running()) child!.kill(s); },
    restart: () => { if (!running() && !stopping) { logger.info({ rack: spec.rack }, 'starting the daemon again'); start(); } },
    async stop() {
      stopping = true;
      if (!child || !running()) return;
      const gone = new Promise<void>((r) => child!.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child?.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(t);
    },
  };
}

/** The VM's serial console, appended to DIR/NAME.console.log across restarts. */
function consoleArgs(dir: string, name: string): string[] {
  return ['-chardev', `file,id=con,path=${join(dir, `${name}.console.log`)},append=on`, '-serial', 'chardev:con'];
}
