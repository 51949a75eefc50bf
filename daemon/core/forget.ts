// Which machines an operator may forget: discovered ones (DHCP enrolled them) that hold nothing of
// a tenant's. Forgetting retires the row and keeps its history; the inventory's machines leave only
// by leaving inventory.yaml. Pure: the store applies the verdict inside its transaction.
import type { State } from './lifecycle.js';
import type { MachineRecord } from './store/types.js';

/** States in which a machine is, or was just, a tenant's (its disk may hold their data). */
const TENANT_STATES: ReadonlySet<State> = new Set<State>(['allocated', 'deploying', 'deployed', 'releasing']);

export type ForgetRefusal = { reason: 'inventory' | 'in_use'; detail: string };

/** Why `m` may not be forgotten, or undefined when it may. */
export function forgetRefusal(m: MachineRecord): ForgetRefusal | undefined {
  if (m.source !== 'discovered') {
    return { reason: 'inventory', detail: `${m.name} is an inventory machine: only discovered machines are forgotten; remove it from inventory.yaml (then reload) to retire it` };
  }
  const stalled = m.state === 'failed' || m.state === 'maintenance';
  // Failed or in maintenance out of a tenant's state (an erase that failed): the data may still be there.
  const tenants = m.owner !== null || TENANT_STATES.has(m.state) || (stalled && m.previousState !== null && TENANT_STATES.has(m.previousState));
  if (!tenants) return undefined;
  const owner = m.owner ? ` for ${m.owner}` : '';
  return stalled
    ? { reason: 'in_use', detail: `${m.name} is ${m.state} from ${m.previousState ?? '?'}${owner}: its disks may hold a tenant's data; retry or release it (its disks are erased) before forgetting it` }
    : { reason: 'in_use', detail: `${m.name} is ${m.state}${owner}: release it (its disks are erased) before forgetting it` };
}
