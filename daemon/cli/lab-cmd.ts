// `rackhand lab up|down|status` (and the internal `lab supervise`).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, apiClient } from './client.js';
import { table } from './format.js';
import { LAB_API, LAB_NET, LAB_NS, argvOf, buildRack, labProcesses, defaultLabDir, labConfig, labInventory, nsExists, readConfig, startSupervisor, tearDown } from '../lab/lab.js';
import { startRouterAdverts } from '../lab/router-adverts.js';
import { PACKAGE_ROOT } from '../version.js';
import { createLogger } from '../log.js';

const out = (s: string): void => { process.stdout.write(s + '\n'); };
const labEnv = (dir: string) => `RACKHAND_URL=http://${LAB_API.host}:${LAB_API.port} RACKHAND_STATE_DIR=${join(dir, 'state')}`;

export async function labUp(o: { dir?: string; machines: number; autoRedeploy: boolean; main: string }): Promise<void> {
  const dir = o.dir ?? defaultLabDir();
  if (process.getuid?.() !== 0) throw new CliError('rackhand lab needs root (network namespaces, taps, QEMU)');
  if (nsExists()) throw new CliError(`a lab is already up (namespace ${LAB_NS}); rackhand lab down first`);
  const images = join(PACKAGE_ROOT, 'boot-images');
  for (const f of ['agent/initrd.img', 'agent/vmlinuz', 'images/lab.raw.gz', 'images/lab.raw.sha256']) {
    if (!existsSync(join(images, f))) throw new CliError(`boot-images/${f} is missing: run make boot-images`);
  }
  const c = labConfig(dir, o.machines, { autoRedeploy: o.autoRedeploy });
  try {
    buildRack(c, labInventory(c, images, join(PACKAGE_ROOT, 'templates')));
    const warning = startRouterAdverts(dir, LAB_NS, LAB_NET.bridge);
    if (warning) process.stderr.write(`rackhand: warning: ${warning}\n`);
    startSupervisor(dir, o.main);
    const ready = join(dir, 'supervisor.ready');
    for (let i = 0; i < 600 && !existsSync(ready); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const log = readFileSync(join(dir, 'supervisor.log'), 'utf8');
      if (/"level":(50|60)|^rackhand: /m.test(log)) throw new CliError(`the lab supervisor failed:\n${log.slice(-2000)}`);
    }
    if (!existsSync(ready)) throw new CliError(`the lab did not come up within 60 s; see ${join(dir, 'supervisor.log')}`);
  } catch (err) {
    await tearDown(dir);
    throw err;
  }
  out(`lab up: ${c.machines.map((m) => `${m.name} (${m.firmware}, ${m.bmc})`).join(', ')}; daemon at http://${LAB_API.host}:${LAB_API.port}`);
  out(`  export ${labEnv(dir)}`);
}

export async function labDown(o: { dir?: string }): Promise<void> {
  const done = await tearDown(o.dir ?? defaultLabDir());
  out(done.length ? done.map((d) => `lab down: ${d}`).join('\n') : 'lab down: nothing to do');
}

export async function labStatus(o: { dir?: string; json: boolean }): Promise<void> {
  const dir = o.dir ?? defaultLabDir();
  const c = readConfig(dir);
  if (!c || !nsExists()) {
    if (o.json) return out(JSON.stringify({ up: false }));
    return out(`no lab is up${c ? ` (leftovers in ${dir}: rackhand lab down)` : ''}`);
  }
  let states: Record<string, string> = {};
  try {
    const api = apiClient({ url: `http://${LAB_API.host}:${LAB_API.port}`, stateDir: join(dir, 'state') });
    const { machines } = await api.get<{ machines: { name: string; state: string }[] }>('/api/v1/machines');
    states = Object.fromEntries(machines.map((m) => [m.name, m.state]));
  } catch (err) {
    states = {};
    if (!o.json) out(`daemon: ${(err as Error).message}`);
  }
  const processes = labProcesses(dir).map((pid) => ({ pid, argv: argvOf(pid) }));
  const radvd = processes.filter((p) => p.argv[0]?.endsWith('radvd')).map((p) => p.pid);
  const rows = c.machines.map((m) => {
    const vm = processes.find((p) => p.argv.includes('-name') && p.argv[p.argv.indexOf('-name') + 1] === m.name)?.pid;
    return { name: m.name, firmware: m.firmware, mac: m.mac, bmc: `${m.bmc} 127.0.0.1:${m.bmcPort}`, vm: vm ? `running (${vm})` : 'off', state: states[m.name] ?? '?' };
  });
  const adverts = radvd.length ? `radvd running (${radvd.join(', ')})` : 'radvd not running: each iPXE boot waits ~16 s for IPv6';
  if (o.json) return out(JSON.stringify({ up: true, dir, api: `http://${LAB_API.host}:${LAB_API.port}`, router_adverts: radvd.length > 0, machines: rows }, null, 2));
  out(table(['NAME', 'FIRMWARE', 'MAC', 'BMC', 'VM', 'STATE'], rows.map((r) => [r.name, r.firmware, r.mac, r.bmc, r.vm, r.state])));
  out(`\n  IPv6 router advertisements on ${LAB_NET.bridge}: ${adverts}`);
  out(`\n  export ${labEnv(dir)}`);
}

export async function labSupervise(o: { dir?: string; main: string }): Promise<void> {
  const { supervise } = await import('../lab/supervisor.js');
  await supervise(o.dir ?? defaultLabDir(), o.main, createLogger({ name: 'rackhand-lab' }));
  await new Promise(() => { /* until SIGTERM */ });
}
