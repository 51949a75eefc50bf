// The lab's supervisor: runs inside the lab's namespace, starts one ipmi_sim BMC per machine
// (each starting its QEMU VM on power on) and the daemon itself, and stops them all on SIGTERM.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startIpmiSim, type IpmiSim } from './ipmi-sim.js';
import { qemuArgs, QEMU_BINARY } from './qemu.js';
import { readConfig, LAB_API, REDFISH_PORT } from './lab.js';
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
          vm: { name: m.name, memory: 512, mac: m.mac, net: { kind: 'tap' as const, ifname: m.tap }, disk: m.disk, extra: consoleArgs(dir, m.name) },
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
    const daemon = superviseDaemon(dir, main, logger);
    await daemon.ready;
    writeFileSync(join(dir, 'supervisor.ready'), new Date().toISOString());
    const stop = async (signal: string) => {
      logger.info({ signal }, 'lab supervisor stopping');
      await daemon.stop();
      await stopAll();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    process.on('SIGHUP', () => daemon.signal('SIGHUP'));
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * The daemon as a child process, restarted when it dies (as systemd's Restart=on-failure
 * would): the lab is where a kill -9 in the middle of a deploy is tried.
 */
function superviseDaemon(dir: string, main: string, logger: Logger) {
  let child: ChildProcess | undefined;
  let stopping = false;
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  const start = () => {
    const log = openSync(join(dir, 'daemon.log'), 'a');
    child = spawn(process.execPath, [...process.execArgv, main, 'serve', '--inventory', join(dir, 'inventory.yaml'),
      '--state-dir', join(dir, 'state'), '--listen', '0.0.0.0', '--port', String(LAB_API.port)], { stdio: ['ignore', 'pipe', log] });
    closeSync(log);
    writeFileSync(join(dir, 'daemon.pid'), String(child.pid));
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      writeFileSync(join(dir, 'daemon.log'), d, { flag: 'a' });
      if (seen !== 'up') { seen += d; if (seen.includes('HTTP listening')) { seen = 'up'; resolveReady(); } }
    });
    child.on('exit', (code, signal) => {
      if (stopping) return;
      logger.warn({ code, signal }, 'the daemon died; restarting it in 1 s');
      setTimeout(start, 1000);
    });
  };
  start();
  return {
    ready,
    signal: (s: NodeJS.Signals) => child?.kill(s),
    async stop() {
      stopping = true;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
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
