// The per-machine iPXE script: a pure function of the machine, its running operation and the
// site. Three kinds — the deploy agent, an installer, or local boot — and a script that says
// why it does nothing for machines Rackhand will not boot.
import { LOCAL_BOOT, type State } from '../core/lifecycle.js';
import type { Profile } from '../core/inventory/schema.js';
import { imageWritten, type OperationProgress } from '../core/agent-plan.js';
import { bootText, kernelLine, kernelWord } from '../core/boot-text.js';
import { bootFileUrl, bootPaths } from '../core/urls.js';

export interface ScriptMachine {
  name: string;
  mac: string;
  state: State;
  lastError: string | null;
}

export interface ScriptOperation {
  kind: string;
  progress: OperationProgress | null;
}

export interface ScriptSite {
  /** http://ADDRESS:PORT */
  baseUrl: string;
  /** Extra kernel arguments for the agent (e.g. console=ttyS0 for the lab). */
  agentArgs: string;
}

export type BootPlan =
  | { kind: 'agent'; why: string; kernel: string; initrd: string; args: string }
  | { kind: 'installer'; why: string; kernel: string; initrd: string; args: string }
  | { kind: 'local'; why: string }
  | { kind: 'refuse'; why: string };


/**
 * What a machine boots. `installerArgs` is the profile's rendered command line (the caller
 * renders it, since rendering needs templates and the operation's URLs). `nonce` is the one-use
 * boot nonce the agent trades for its agent token (the caller mints it for agent plans only).
 * Every value not written here goes through boot-text.ts: the plan holds only safe text.
 */
export function planBoot(args: {
  machine: ScriptMachine | undefined;
  operation: ScriptOperation | undefined;
  profile: Profile | undefined;
  site: ScriptSite;
  installerArgs?: string;
  nonce?: string;
  mac: string;
}): BootPlan {
  const { machine, operation, profile, site } = args;
  if (!machine) return { kind: 'refuse', why: `${args.mac} is not a machine Rackhand manages (machines enrol through DHCP)` };
  // Which states boot their disk is the lifecycle's call; here only the words for each.
  if (LOCAL_BOOT.has(machine.state)) {
    const why = machine.state === 'failed'
      ? `${machine.name} failed (${bootText(machine.lastError ?? 'no reason recorded', 120)}): booting from disk until an operator retries`
      : machine.state === 'enrolled'
        ? `${machine.name} is enrolled but not being inspected: booting from disk`
        : `${machine.name} is ${machine.state}: booting from its own disk`;
    return { kind: 'local', why };
  }
  if (!operation) return { kind: 'refuse', why: `${machine.name} is ${machine.state} but has no running operation` };
  // The agent wrote and configured the image, then rebooted: boot it, do not image again.
  if (imageWritten(operation)) return { kind: 'local', why: `${machine.name} is deploying: the image is written, booting it from disk` };
  if (machine.state === 'deploying' && profile?.kind === 'installer') {
    const kernel = kernelWord(bootFileUrl(site.baseUrl, profile.kernel));
    const initrd = kernelWord(bootFileUrl(site.baseUrl, profile.initrd));
    if (!kernel || !initrd) return { kind: 'refuse', why: `${machine.name}: the installer's kernel or initrd URL is too long` };
    return {
      kind: 'installer', why: `${machine.name} is deploying: running the installer`,
      kernel, initrd, args: kernelLine(args.installerArgs ?? ''),
    };
  }
  if (!args.nonce) return { kind: 'refuse', why: `${machine.name} is ${machine.state} but no boot nonce was minted` };
  const agentArgs = kernelLine([`rackhand.url=${site.baseUrl}`, `rackhand.nonce=${args.nonce}`, site.agentArgs].join(' '));
  return {
    kind: 'agent', why: `${machine.name} is ${machine.state}: the agent runs ${operation.kind}`,
    kernel: site.baseUrl + bootPaths.agentKernel, initrd: site.baseUrl + bootPaths.agentInitrd, args: agentArgs,
  };
}

/** The iPXE script text for a plan. Comments carry the reason, so a console shows why. */
export function renderScript(plan: BootPlan): string {
  const why = bootText(plan.why);
  const lines = ['#!ipxe', `# Rackhand: ${why}`, `echo Rackhand: ${why}`];
  switch (plan.kind) {
    case 'agent':
    case 'installer':
      lines.push(
        // planBoot already made these safe; kernelLine and kernelWord leave safe text as it is.
        `kernel ${kernelLine(`${plan.kernel} initrd=initrd.img ${plan.args}`)}`,
        `initrd --name initrd.img ${kernelWord(plan.initrd) ?? ''}`,
        'boot',
        // Reached only when boot failed: retry after a pause rather than fall through to disk.
        'echo Rackhand: boot failed, retrying in 10 seconds',
        'sleep 10',
        'reboot',
      );
      break;
    case 'local':
      // A failing exit hands control back to the firmware, which tries its next boot device
      // (the disk). UEFI firmware (EDK2) takes a successful `exit` as a finished boot and opens
      // its setup menu instead, so the status must be non-zero.
      lines.push('exit 1');
      break;
    case 'refuse':
      lines.push('sleep 5', 'exit 1');
      break;
  }
  return lines.join('\n') + '\n';
}
