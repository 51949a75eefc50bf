// The lab's supervisor: runs inside the lab's namespace, starts one ipmi_sim BMC per machine
// (each starting its QEMU VM on power on) and the daemon itself, and stops them all on SIGTERM.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startIpmiSim, type IpmiSim } from './ipmi-sim.js';
import { qemuArgs, QEMU_BINARY } from './qemu.js';
import { readConfig, LAB_API } from './lab.js';
import { startDaemon } from '../serve.js';
import type { Logger } from '../log.js';

export async function supervise(dir: string, logger: Logger): Promise<void> {
  const c = readConfig(dir);
  if (!c) throw new Error(`no lab in ${dir} (rackhand lab up)`);
  const password = readFileSync(join(dir, 'bmc-password'), 'utf8').trim();
  const bmcs: IpmiSim[] = [];
  const stopAll = async () => { for (const b of bmcs) await b.stop().catch(() => undefined); };
  try {
    for (const m of c.machines) {
      const console = join(dir, `${m.name}.console.log`);
      const vmArgv = [QEMU_BINARY, ...qemuArgs({
        name: m.name, memory: 512, mac: m.mac, net: { kind: 'tap', ifname: m.tap }, disk: m.disk, firmware: m.firmware,
        // Network first, like a rack whose machines always PXE: Rackhand's script says `exit`
        // (boot the disk) when a machine has nothing to do.
        bootOrder: 'nc', ipmiBmc: { host: '127.0.0.1', port: m.serialPort }, headless: true,
        extra: ['-chardev', `file,id=con,path=${console},append=on`, '-serial', 'chardev:con'],
      })];
      const bmc = await startIpmiSim({ dir: join(dir, `bmc-${m.name}`), port: m.bmcPort, serialPort: m.serialPort, username: 'admin', password, vmArgv });
      writeFileSync(join(dir, `bmc-${m.name}`, 'ipmi_sim.pid'), String(bmc.pid));
      bmcs.push(bmc);
      logger.info({ machine: m.name, bmc: `127.0.0.1:${m.bmcPort}` }, `BMC for ${m.name} listening`);
    }
    const daemon = await startDaemon({ inventoryFile: join(dir, 'inventory.yaml'), stateDir: join(dir, 'state'), logger, httpListen: '0.0.0.0', httpPort: LAB_API.port });
    writeFileSync(join(dir, 'supervisor.ready'), new Date().toISOString());
    const stop = async (signal: string) => {
      logger.info({ signal }, 'lab supervisor stopping');
      await daemon.close().catch(() => undefined);
      await stopAll();
      process.exit(0);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    process.on('SIGHUP', () => void daemon.reload());
  } catch (err) {
    await stopAll();
    throw err;
  }
}
