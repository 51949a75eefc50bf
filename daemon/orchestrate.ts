// Actions drive real work: when a transition starts an operation (inspect, deploy, erase), the
// machine is booted into it through its BMC — a one-time network boot, then power on, or a
// power cycle when it is already on. A BMC that fails (after the driver's own retries) sends
// the machine to `failed` with the BMC's error, if that operation is still the machine's work.
import type { MachineRecord, OperationRecord, Store } from './core/store/types.js';
import type { Transitions } from './core/transitions.js';
import type { Logger } from './log.js';
import { PowerError, type ManagedPower } from './power/index.js';

export interface Orchestrator {
  /** Boots the machine into the operation a transition just started; runs in the background. */
  started(machine: MachineRecord, op: OperationRecord): void;
  /** Waits for boots under way (daemon shutdown, tests). */
  idle(): Promise<void>;
}

export function createOrchestrator(deps: { store: Store; transitions: Transitions; power: (m: MachineRecord) => ManagedPower; logger: Logger }): Orchestrator {
  const running = new Set<Promise<void>>();

  async function bootInto(machine: MachineRecord, op: OperationRecord): Promise<void> {
    const power = deps.power(machine);
    const log = deps.logger.child({ machine: machine.name, operation: op.kind });
    try {
      if (power.driver.capabilities.bootDevice) {
        const mode = machine.power.boot_mode === 'UEFI' ? 'uefi' : machine.power.boot_mode === 'Legacy' ? 'legacy' : undefined;
        await power.setBootDevice({ device: 'pxe', mode, persistent: false });
      }
      const state = power.driver.capabilities.readsState ? await power.status() : 'unknown';
      const after = state === 'on' ? await power.cycle() : await power.on();
      await deps.store.appendEvent({
        machine: machine.name, kind: 'power', event: state === 'on' ? 'cycle' : 'on', actor: 'system',
        cause: `booting into ${op.kind}: one-time network boot, power ${state === 'on' ? 'cycled' : 'on'} (now ${after})`,
      });
      log.info({ power: after }, `booting into ${op.kind}`);
    } catch (err) {
      const reason = err instanceof PowerError ? err.message : `power: ${(err as Error).message}`;
      log.error({ err }, `cannot boot into ${op.kind}`);
      // Only the operation that asked may fail the machine: a newer one may already run.
      const active = await deps.store.activeOperation(machine.name);
      if (active?.id !== op.id) return;
      await deps.transitions.apply({ machine: machine.name, event: 'error', actor: 'system', reason })
        .catch((e: Error) => log.warn({ err: e }, 'could not record the power failure'));
    }
  }

  return {
    started(machine, op) {
      const p = bootInto(machine, op).finally(() => running.delete(p));
      running.add(p);
    },
    async idle() {
      while (running.size) await Promise.allSettled([...running]);
    },
  };
}
