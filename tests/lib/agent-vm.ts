// The deploy agent in a QEMU VM (TCG) against a real daemon, both in a network namespace: the
// harness of tests/net/agent-qemu.test.ts, with the VM's disks given by the caller. The VM boots
// the agent kernel directly with the arguments from its iPXE script, fetched as its firmware
// would, from the machine's reserved address (PXE itself is the DHCP/TFTP tests' job).
// Callers run under `flock /tmp/rackhand-qemu.lock` (make test runs the QEMU suites one by one).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Netns } from './netns.js';
import { tempDir } from './tmp.js';
import { REPO, prepareStateDir, ADMIN_TOKEN } from './daemon.js';

export const AGENT_DIR = join(REPO, 'boot-images/agent');
export const agentBuilt = () => existsSync(join(AGENT_DIR, 'initrd.img'));

/** The one machine of the rig: its MAC and the reserved address the agent takes statically. */
export const VM = { mac: '52:54:00:00:01:01', ip: '10.20.0.11', port: 8080 } as const;

export interface AgentRig {
  ns: Netns;
  dir: string;
  api(method: string, path: string, body?: object): Promise<Record<string, any>>;
  /** curl from the machine's own address, as its firmware or deployed system would. */
  asMachine(args: string[]): Promise<string>;
  /** Boots the VM with these extra QEMU arguments (its disks) until it powers off; the console. */
  bootAgent(label: string, qemuArgs: string[]): Promise<string>;
  close(): Promise<void>;
}

/** `site` and `profiles` lines (after the fixed interface, address and DHCP lines) and machines. */
export async function startAgentRig(tag: string, inventory: { site?: string; rest: string }): Promise<AgentRig> {
  const dir = tempDir(tag);
  writeFileSync(join(dir, 'inventory.yaml'), `
site:
  interface: br0
  address: 10.20.0.1
  http_port: ${VM.port}
  dhcp: { mode: full, subnet: 10.20.0.0/24 }
  agent_args: "console=ttyS0 rackhand.ip=${VM.ip}/24"
${inventory.site ?? ''}${inventory.rest}`);
  const ns = await Netns.create(tag);
  let daemon: ChildProcess | undefined;
  const close = async () => {
    if (daemon && daemon.exitCode === null) daemon.kill('SIGTERM');
    await ns.delete();
  };
  try {
    await ns.bridgeWithTap('10.20.0.1/24');
    const state = join(dir, 'state');
    prepareStateDir(state);
    await ns.exec('ln', ['-s', join(REPO, 'templates'), join(dir, 'templates')]);
    daemon = ns.spawn(process.execPath, ['--import', 'tsx', join(REPO, 'daemon/cli/main.ts'), 'serve', '--inventory', join(dir, 'inventory.yaml'), '--state-dir', state], { cwd: REPO });
    let log = '';
    await new Promise<void>((resolve, reject) => {
      daemon!.stdout!.on('data', (d: Buffer) => { log += d; if (log.includes('HTTP listening')) resolve(); });
      daemon!.stderr!.on('data', (d: Buffer) => { log += d; });
      daemon!.on('exit', (code) => reject(new Error(`daemon exited ${code}: ${log}`)));
    });
  } catch (err) {
    await close();
    throw err;
  }

  const api = async (method: string, path: string, body?: object) => {
    const data = body ? ['-H', 'content-type: application/json', '-d', JSON.stringify(body)] : [];
    // The API is not served on the provisioning address: the operator uses the loopback.
    return JSON.parse(await ns.exec('curl', ['-sS', '-X', method, '-H', `authorization: Bearer ${ADMIN_TOKEN}`, ...data, `http://127.0.0.1:${VM.port}${path}`]));
  };
  // The address is held by the daemon's namespace only for the call, and is gone before the VM,
  // which owns it, boots.
  const asMachine = async (args: string[]) => {
    await ns.ip('addr', 'add', `${VM.ip}/32`, 'dev', 'lo');
    try {
      return await ns.exec('curl', ['-sS', '--interface', VM.ip, ...args]);
    } finally {
      await ns.ip('addr', 'del', `${VM.ip}/32`, 'dev', 'lo');
    }
  };
  const bootAgent = async (label: string, qemuArgs: string[]) => {
    const script = await asMachine([`http://10.20.0.1:${VM.port}/boot/${VM.mac}.ipxe`]);
    const kernelLine = /^kernel (\S+) (.*)$/m.exec(script);
    assert.ok(kernelLine, `no kernel line in the script:\n${script}`);
    const append = kernelLine[2]!.replace(/\binitrd=\S+\s*/, '');
    const serial = join(dir, `${label}.log`);
    const qemu = ns.spawn('qemu-system-x86_64', [
      '-accel', 'tcg', '-m', '512', '-nodefaults', '-display', 'none', '-no-reboot',
      '-kernel', join(AGENT_DIR, 'vmlinuz'), '-initrd', join(AGENT_DIR, 'initrd.img'), '-append', append,
      ...qemuArgs,
      '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', '-device', `virtio-net-pci,netdev=n0,mac=${VM.mac}`,
      '-serial', `file:${serial}`,
    ]);
    let stderr = '';
    qemu.stderr!.on('data', (d: Buffer) => { stderr += d; });
    qemu.stdout!.resume();
    const exited = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => { qemu.kill('SIGKILL'); resolve(false); }, Number(process.env.AGENT_VM_TIMEOUT ?? 300_000));
      qemu.on('exit', () => { clearTimeout(timer); resolve(true); });
    });
    const output = existsSync(serial) ? readFileSync(serial, 'utf8') : '';
    assert.ok(exited, `${label}: the VM did not finish in time; qemu: ${stderr}\nconsole:\n${output.slice(-3000)}`);
    return output;
  };
  return { ns, dir, api, asMachine, bootAgent, close };
}
