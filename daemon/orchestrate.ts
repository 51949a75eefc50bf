// Actions drive real work: when a transition starts an operation (inspect, deploy, erase), its
// boot is durable work (WorkStore) that the daemon serving the machine's rack claims and runs
// here: a one-time network boot, then power on, or a power cycle when it is already on. A BMC
// that fails (after the driver's own retries) sends the machine to `failed` with the BMC's
// error, if that operation is still the machine's work.
//
// Never twice: the step `power_sending` is recorded before the power change goes out. Whoever
// claims the work after a daemon died past that point reads the power state instead of
// changing it: a machine already on is booting (the firmware's DHCP finds whichever daemon
// answers its segment now); one still off is powered on. A takeover (the daemon that booted the
// machine fell silent mid-operation; the machine talks to it) boots it again on purpose, once
// (a takeover re-claimed after `power_sent` is not cycled again; after only `power_sending` it
// is: a second cycle is better than a machine left talking to a dead daemon).
import type { MachineRecord, OperationRecord, Store, WorkRecord } from './core/store/types.js';
import type { Transitions } from './core/transitions.js';
import type { Logger } from './log.js';
import type { WorkControl } from './racks/work-runner.js';
import { PowerError, type ManagedPower } from './power/index.js';

export interface Orchestrator {
  /** Runs one item of boot work to its end; resolves with its outcome. */
  boot(item: WorkRecord, machine: MachineRecord, op: OperationRecord, ctl: WorkControl): Promise<string>;
}

export interface OrchestratorDeps {
  store: Store;
  transitions: Transitions;
  power: (m: MachineRecord) => ManagedPower;
  logger: Logger;
  /** This daemon's rack, named in what it records (many racks); null with one daemon. */
  rack: string | null;
}

const RESUMED = new Set(['power_sending', 'power_sent']);

export function createOrchestrator(deps: OrchestratorDeps): Orchestrator {
  const by = deps.rack ? ` by rack ${deps.rack}` : '';

  async function record(machine: MachineRecord, event: string, cause: string): Promise<void> {
    await deps.store.appendEvent({ machine: machine.name, kind: 'power', event, actor: 'system', cause, data: deps.rack ? { rack: deps.rack } : null });
  }

  async function boot(item: WorkRecord, machine: MachineRecord, op: OperationRecord, ctl: WorkControl): Promise<string> {
    const power = deps.power(machine);
    const log = deps.logger.child({ machine: machine.name, operation: op.kind, work: item.id });
    const why = item.kind === 'takeover'
      ? `taking over ${op.kind} from a silent rack (the daemon that booted it is gone)${by}`
      : `booting into ${op.kind}${by}`;
    try {
      const state = power.driver.capabilities.readsState ? await power.status() : 'unknown';
      if (item.kind === 'boot' && item.step !== null && RESUMED.has(item.step) && state === 'on') {
        // A daemon died after (maybe) sending the change: the machine is on, so it is booting.
        await record(machine, 'boot_resumed', `${why}: already powered on (the previous daemon's boot went out); not cycled again`);
        return 'already on';
      }
      if (item.kind === 'takeover' && item.step === 'power_sent') {
        // The standby that claimed it first cycled it and died before saying so: once is enough.
        await record(machine, 'boot_resumed', `${why}: the takeover's power cycle already went out; not cycled again`);
        return 'already cycled';
      }
      if (!(await ctl.step('power_sending'))) return 'claim lost';
      if (power.driver.capabilities.bootDevice) {
        const mode = machine.power.boot_mode === 'UEFI' ? 'uefi' : machine.power.boot_mode === 'Legacy' ? 'legacy' : undefined;
        await power.setBootDevice({ device: 'pxe', mode, persistent: false });
      }
      const after = state === 'on' ? await power.cycle() : await power.on();
      await ctl.step('power_sent');
      await record(machine, state === 'on' ? 'cycle' : 'on', `${why}: one-time network boot, power ${state === 'on' ? 'cycled' : 'on'} (now ${after})`);
      log.info({ power: after }, why);
      return state === 'on' ? 'cycled' : 'powered on';
    } catch (err) {
      const reason = err instanceof PowerError ? err.message : `power: ${(err as Error).message}`;
      log.error({ err }, `cannot boot into ${op.kind}`);
      // Only the operation that asked may fail the machine: a newer one may already run.
      const active = await deps.store.activeOperation(machine.name);
      if (active?.id !== op.id) return 'superseded';
      await deps.transitions.apply({ machine: machine.name, event: 'error', actor: 'system', reason })
        .catch((e: Error) => log.warn({ err: e }, 'could not record the power failure'));
      return `failed: ${reason}`;
    }
  }

  return { boot };
}

/** With power actions off, the operator boots machines: the work is to say so. */
export function manualOrchestrator(logger: Logger): Orchestrator {
  return {
    async boot(_item, m, op) {
      logger.info({ machine: m.name }, `power actions are off: boot ${m.name} into ${op.kind} yourself`);
      return 'left to the operator';
    },
  };
}
