// `rackhand lab up|down|status|restart-rack` (and the internal `lab supervise`).
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, apiClient } from './client.js';
import { table } from './format.js';
import { LAB_API, LAB_NET, LAB_NS, argvOf, buildRack, labProcesses, defaultLabDir, labConfig, labInventory, nsExists, pidIn, readConfig, startSupervisor, tearDown, type LabConfig } from '../lab/lab.js';
import { rackFiles } from '../lab/lab-racks.js';
import { startLabPostgres } from '../lab/postgres.js';
import { startRouterAdverts } from '../lab/router-adverts.js';
import { labDashboardHint } from '../lab/dashboard-hint.js';
import { processRunning } from '../lab/ipmi-sim.js';
import { PACKAGE_ROOT } from '../version.js';
import { createLogger } from '../log.js';

const out = (s: string): void => { process.stdout.write(s + '\n'); };
/** Where the CLI reaches the lab: its daemon, or the first rack's (each rack's daemon serves the whole API). */
const apiUrl = (c: LabConfig, port = c.racks?.[0]?.port ?? LAB_API.port) => `http://${LAB_API.host}:${port}`;
const stateDir = (c: LabConfig) => (c.racks ? rackFiles(c.dir, c.racks[0]!.name).state : join(c.dir, 'state'));
const labEnv = (c: LabConfig) => `RACKHAND_URL=${apiUrl(c)} RACKHAND_STATE_DIR=${stateDir(c)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function labUp(o: { dir?: string; machines: number; racks: number; autoRedeploy: boolean; sshKey?: string; main: string }): Promise<void> {
  const dir = o.dir ?? defaultLabDir();
  if (process.getuid?.() !== 0) throw new CliError('rackhand lab needs root (network namespaces, taps, QEMU)');
  if (nsExists()) throw new CliError(`a lab is already up (namespace ${LAB_NS}); rackhand lab down first`);
  const images = join(PACKAGE_ROOT, 'boot-images');
  for (const f of ['agent/initrd.img', 'agent/vmlinuz', 'images/lab.raw.gz', 'images/lab.raw.sha256']) {
    if (!existsSync(join(images, f))) throw new CliError(`boot-images/${f} is missing: run make boot-images`);
  }
  if (o.sshKey && !existsSync(o.sshKey)) throw new CliError(`--ssh-key ${o.sshKey}: no such file`);
  const sshKeys = o.sshKey ? readFileSync(o.sshKey, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : [];
  const c = labConfig(dir, o.machines, { autoRedeploy: o.autoRedeploy, racks: o.racks, sshKeys });
  try {
    buildRack(c, labInventory(c, images, join(PACKAGE_ROOT, 'templates')));
    if (c.racks) {
      // The postgres user runs the lab's database in DIR/pg: it must be able to pass through DIR.
      chmodSync(dir, 0o711);
      await startLabPostgres(dir).catch((err: Error) => { throw new CliError(`the lab's PostgreSQL: ${err.message}`); });
    }
    const bridges = [...new Set(c.machines.map((m) => m.bridge).concat(c.racks?.map((r) => r.bridge) ?? [LAB_NET.bridge]))];
    const warning = startRouterAdverts(dir, LAB_NS, bridges);
    if (warning) process.stderr.write(`rackhand: warning: ${warning}\n`);
    startSupervisor(dir, o.main);
    const ready = join(dir, 'supervisor.ready');
    const seconds = c.racks ? 120 : 60;
    for (let i = 0; i < seconds * 10 && !existsSync(ready); i++) {
      await sleep(100);
      const log = readFileSync(join(dir, 'supervisor.log'), 'utf8');
      if (/"level":(50|60)|^rackhand: /m.test(log)) throw new CliError(`the lab supervisor failed:\n${log.slice(-2000)}`);
    }
    if (!existsSync(ready)) throw new CliError(`the lab did not come up within ${seconds} s; see ${join(dir, 'supervisor.log')}`);
  } catch (err) {
    await tearDown(dir);
    throw err;
  }
  const machines = c.machines.map((m) => `${m.name} (${[m.firmware, m.bmc, ...(m.rack ? [m.rack] : [])].join(', ')})`).join(', ');
  const daemons = c.racks ? c.racks.map((r) => `${r.name}'s daemon at ${apiUrl(c, r.port)}`).join(', ') : `daemon at ${apiUrl(c)}`;
  out(`lab up: ${machines}; ${daemons}`);
  out(`  export ${labEnv(c)}`);
  out(labDashboardHint(apiUrl(c), stateDir(c)).join('\n'));
}

export async function labDown(o: { dir?: string }): Promise<void> {
  const done = await tearDown(o.dir ?? defaultLabDir());
  out(done.length ? done.map((d) => `lab down: ${d}`).join('\n') : 'lab down: nothing to do');
}

/** Each rack daemon of a racked lab: its PID while it runs (its PID file names a live process). */
function rackDaemons(c: LabConfig): { rack: string; bridge: string; api: string; pid?: number }[] {
  return (c.racks ?? []).map((r) => {
    let pid = pidIn(rackFiles(c.dir, r.name).pid);
    if (pid && !(processRunning(pid) && argvOf(pid).includes(r.name))) pid = undefined;
    return { rack: r.name, bridge: r.bridge, api: apiUrl(c, r.port), pid };
  });
}

export async function labStatus(o: { dir?: string; json: boolean }): Promise<void> {
  const dir = o.dir ?? defaultLabDir();
  const c = readConfig(dir);
  if (!c || !nsExists()) {
    if (o.json) return out(JSON.stringify({ up: false }));
    return out(`no lab is up${c ? ` (leftovers in ${dir}: rackhand lab down)` : ''}`);
  }
  const daemons = rackDaemons(c);
  // Machine states from whichever daemon answers (every rack's daemon reads the one database).
  let states: Record<string, string> = {};
  const urls = c.racks ? daemons.filter((d) => d.pid).map((d) => d.api) : [apiUrl(c)];
  let problem = urls.length ? '' : 'no rack daemon is running';
  for (const url of urls) {
    try {
      const api = apiClient({ url, stateDir: stateDir(c) });
      const { machines } = await api.get<{ machines: { name: string; state: string }[] }>('/api/v1/machines');
      states = Object.fromEntries(machines.map((m) => [m.name, m.state]));
      problem = '';
      break;
    } catch (err) {
      problem = (err as Error).message;
    }
  }
  if (problem && !o.json) out(`daemon: ${problem}`);
  const processes = labProcesses(dir).map((pid) => ({ pid, argv: argvOf(pid) }));
  const radvd = processes.filter((p) => p.argv[0]?.endsWith('radvd')).map((p) => p.pid);
  const rows = c.machines.map((m) => {
    const vm = processes.find((p) => p.argv.includes('-name') && p.argv[p.argv.indexOf('-name') + 1] === m.name)?.pid;
    return { name: m.name, ...(m.rack ? { rack: m.rack } : {}), firmware: m.firmware, mac: m.mac, bmc: `${m.bmc} 127.0.0.1:${m.bmcPort}`, vm: vm ? `running (${vm})` : 'off', state: states[m.name] ?? '?' };
  });
  const bridges = c.racks?.map((r) => r.bridge).join(', ') ?? LAB_NET.bridge;
  const adverts = radvd.length ? `radvd running (${radvd.join(', ')})` : 'radvd not running: each iPXE boot waits ~16 s for IPv6';
  if (o.json) {
    return out(JSON.stringify({
      up: true, dir, api: apiUrl(c), router_adverts: radvd.length > 0,
      ...(c.racks ? { racks: daemons.map((d) => ({ rack: d.rack, bridge: d.bridge, api: d.api, daemon: d.pid ?? null })) } : {}), machines: rows,
    }, null, 2));
  }
  if (c.racks) {
    out(table(['RACK', 'BRIDGE', 'API', 'DAEMON'], daemons.map((d) => [d.rack, d.bridge, d.api, d.pid ? `running (${d.pid})` : 'down'])));
    out('');
    out(table(['NAME', 'RACK', 'FIRMWARE', 'MAC', 'BMC', 'VM', 'STATE'], rows.map((r) => [r.name, r.rack ?? '', r.firmware, r.mac, r.bmc, r.vm, r.state])));
  } else {
    out(table(['NAME', 'FIRMWARE', 'MAC', 'BMC', 'VM', 'STATE'], rows.map((r) => [r.name, r.firmware, r.mac, r.bmc, r.vm, r.state])));
  }
  out(`\n  IPv6 router advertisements on ${bridges}: ${adverts}`);
  out(`\n  export ${labEnv(c)}`);
  out(labDashboardHint(apiUrl(c), stateDir(c)).join('\n'));
}

/** Starts again a rack daemon that was stopped or killed (the supervisor leaves a dead rack down). */
export async function labRestartRack(o: { dir?: string; rack: string }): Promise<void> {
  const dir = o.dir ?? defaultLabDir();
  const c = readConfig(dir);
  if (!c || !nsExists()) throw new CliError('no lab is up');
  const d = rackDaemons(c).find((x) => x.rack === o.rack);
  if (!d) throw new CliError(c.racks ? `no rack ${o.rack} in the lab (racks: ${c.racks.map((r) => r.name).join(', ')})` : 'this lab has no racks (lab up --racks 2)');
  if (d.pid) return out(`${o.rack}'s daemon is running (${d.pid})`);
  const sup = pidIn(join(dir, 'supervisor.pid'));
  if (!sup || !processRunning(sup) || !argvOf(sup).join('\0').includes(dir)) throw new CliError('the lab supervisor is not running: rackhand lab down, then up');
  const f = rackFiles(dir, o.rack);
  const oldPid = pidIn(f.pid);
  writeFileSync(f.restart, new Date().toISOString());
  process.kill(sup, 'SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(100);
    const up = pidIn(f.up);
    if (up && processRunning(up)) return out(`${o.rack}'s daemon is running again (${up}) at ${d.api}`);
    // Started and gone already: it refused to start (e.g. its rack still heard from the old daemon).
    const pid = pidIn(f.pid);
    if (pid && pid !== oldPid && !processRunning(pid)) {
      const why = readFileSync(f.log, 'utf8').trimEnd().split('\n').slice(-3).join('\n');
      throw new CliError(`${o.rack}'s daemon exited at once; the end of ${f.log}:\n${why}`);
    }
  }
  throw new CliError(`${o.rack}'s daemon did not come back within 60 s: see ${f.log}`);
}

export async function labSupervise(o: { dir?: string; main: string }): Promise<void> {
  const { supervise } = await import('../lab/supervisor.js');
  await supervise(o.dir ?? defaultLabDir(), o.main, createLogger({ name: 'rackhand-lab' }));
  await new Promise(() => { /* until SIGTERM */ });
}
