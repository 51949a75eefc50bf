// Allocating and releasing machines for an owner (SPEC §2b): choose with the pure matcher, take
// the machines with one compare-and-set each (all in one transaction: all or nothing), deploy
// them, and later release them. A lost race is not an error: someone else took a machine, so we
// choose again from what is left, until the matcher says nothing fits.
import { randomBytes } from 'node:crypto';
import { bySizeThenRank, match, type Constraints, type Match } from './allocation.js';
import { allowedEvents, applyEvent, IllegalTransition } from './lifecycle.js';
import { MachineNotFound } from './actions.js';
import type { AllocationRecord, MachineRecord, Store } from './store/types.js';
import type { Transitions } from './transitions.js';
import { withOperationPlan } from './operation-plan.js';

export interface AllocateDeps {
  store: Store;
  /** The one way to change a machine's state: deploys and releases go through it. */
  transitions: Transitions;
  warn?: (msg: string, err: unknown) => void;
}

export interface AllocateInput {
  owner: string;
  profile: string;
  constraints: Constraints;
  count: number;
  /** Who asked, for the events: `operator:NAME` or `tenant:OWNER/NAME`. */
  actor: string;
}

export class NoFit extends Error {
  constructor(readonly result: Extract<Match<MachineRecord>, { ok: false }>) {
    super(result.message);
  }
}
export class AllocationBusy extends Error {}
export class NotReleasable extends Error {}

/**
 * Each lost race means another request took a machine, so the pool shrinks; the bound only
 * guards against a pool that churns for some other reason.
 */
const MAX_ATTEMPTS = 32;

/** A random rank per name, fixed for one attempt. */
function randomRank(): (name: string) => number {
  const ranks = new Map<string, number>();
  return (name) => {
    let r = ranks.get(name);
    if (r === undefined) { r = Math.random(); ranks.set(name, r); }
    return r;
  };
}

export const newAllocationId = () => 'alloc-' + randomBytes(5).toString('hex');

export async function allocateMachines(deps: AllocateDeps, input: AllocateInput): Promise<{ allocation: AllocationRecord; machines: MachineRecord[] }> {
  const { store } = deps;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const all = await store.listMachines({ state: 'ready' });
    // A discovered machine is inspected, but no tenant gets it before an operator accepted it.
    const ready = all.filter((m) => m.accepted);
    // After a lost race, equal machines are taken in a random order of this request's own:
    // requests racing for a pool of identical machines then mostly pick different ones, instead
    // of all retrying on the next one by name (measured in bench/alloc: two daemons, 16 clients).
    const chosen = attempt === 0 ? match(ready, input.constraints, input.count) : match(ready, input.constraints, input.count, bySizeThenRank(randomRank()));
    if (!chosen.ok) throw new NoFit(withUnaccepted(chosen, all, input));
    const id = newAllocationId();
    const result = await store.allocate({
      allocation: { id, owner: input.owner, profile: input.profile, constraints: { ...input.constraints }, machines: chosen.machines.map((m) => m.name), actor: input.actor },
      transitions: chosen.machines.map((m) => withOperationPlan({
        machine: m.name, outcome: applyEvent(m, 'allocate', { owner: input.owner }), actor: input.actor,
        cause: `allocated to ${input.owner} (${id})`, data: { allocation: id, owner: input.owner },
      })),
    });
    if (!result.ok) continue;
    // Made in the allocation's transaction, handed to the one transition path to be logged.
    for (const t of result.transitions) deps.transitions.record(t);
    const machines: MachineRecord[] = [];
    for (const m of result.machines) machines.push(await deploy(deps, m, result.allocation));
    return { allocation: result.allocation, machines };
  }
  throw new AllocationBusy(`the pool changed under ${MAX_ATTEMPTS} attempts in a row; try again`);
}

/**
 * When machines that await an operator's acceptance would have served the request, the refusal
 * says so: what was missing is an operator, not hardware.
 */
function withUnaccepted(miss: Extract<Match<MachineRecord>, { ok: false }>, all: MachineRecord[], input: AllocateInput): Extract<Match<MachineRecord>, { ok: false }> {
  const waiting = all.filter((m) => !m.accepted);
  if (!waiting.length || !match(all, input.constraints, input.count).ok) return miss;
  const names = waiting.slice(0, 5).map((m) => m.name).join(', ') + (waiting.length > 5 ? ', …' : '');
  const n = waiting.length;
  return {
    ...miss, unaccepted: n,
    message: `${miss.message}; ${n} ready discovered machine${n === 1 ? '' : 's'} (${names}) would fit but await${n === 1 ? 's' : ''} an operator's acceptance (rackhand accept MACHINE)`,
  };
}

async function deploy(deps: AllocateDeps, m: MachineRecord, a: AllocationRecord): Promise<MachineRecord> {
  try {
    const r = await deps.transitions.apply({
      machine: m.name, event: 'deploy', actor: a.actor, deployProfile: a.profile,
      cause: `deploy ${a.profile} for ${a.owner} (${a.id})`, data: { profile: a.profile, allocation: a.id },
    });
    return r.machine;
  } catch (err) {
    // The machine stays allocated to the owner; the allocation shows it, and a release frees it.
    deps.warn?.(`allocation ${a.id}: cannot deploy ${m.name}`, err);
    return (await deps.store.getMachine(m.name)) ?? m;
  }
}

/** A machine of an allocation, and whether that allocation still holds it. */
export interface AllocatedMachine {
  machine: MachineRecord;
  held: boolean;
}

/**
 * The allocation's machines now. An allocation holds a machine while the machine is the owner's
 * and this is the owner's newest allocation that names it (an older one, released, does not).
 */
export async function machinesOf(store: Store, a: AllocationRecord): Promise<AllocatedMachine[]> {
  const out: AllocatedMachine[] = [];
  for (const name of a.machines) {
    const machine = await store.getMachine(name);
    if (!machine) continue;
    const newest = machine.owner === a.owner ? (await store.allocationsOfMachine(name, a.owner))[0] : undefined;
    out.push({ machine, held: newest?.id === a.id });
  }
  return out;
}

export type DerivedState = 'deploying' | 'deployed' | 'failed' | 'releasing' | 'released' | 'degraded';

/** What the allocation is doing, from its machines: the worst of them wins. */
export function derivedState(a: AllocationRecord, machines: AllocatedMachine[]): DerivedState {
  const states = machines.filter((m) => m.held).map((m) => m.machine.state);
  if (a.state === 'released') return states.includes('releasing') ? 'releasing' : 'released';
  if (!states.length) return 'released';
  if (states.includes('failed')) return 'failed';
  if (states.some((s) => s === 'allocated' || s === 'deploying')) return 'deploying';
  if (states.includes('releasing')) return 'releasing';
  return states.every((s) => s === 'deployed') ? 'deployed' : 'degraded';
}

/**
 * Releases every machine the allocation holds: deployed ones are erased (then back to ready or
 * redeployed, per policy), allocated ones go straight back to ready. Refused as a whole while a
 * machine is deploying or failed, which the lifecycle cannot release (SPEC §2).
 */
export async function releaseAllocation(deps: AllocateDeps, a: AllocationRecord, actor: string): Promise<MachineRecord[]> {
  if (a.state === 'released') throw new NotReleasable(`allocation ${a.id} is already released`);
  const held = (await machinesOf(deps.store, a)).filter((m) => m.held).map((m) => m.machine);
  // Whatever the lifecycle lets go of (deploying and failed machines too: erased, for the deploy
  // may have written the owner's data); one already releasing, or taken into maintenance by an
  // operator, is not the tenant's to move.
  const stuck = held.filter((m) => !allowedEvents(m.state).includes('release'));
  if (stuck.length) {
    throw new NotReleasable(`cannot release ${a.id} now: ${stuck.map((m) => `${m.name} is ${m.state}`).join(', ')}; an operator holds it, or it is being erased already`);
  }
  if (!(await deps.store.markAllocationReleased(a.id))) throw new NotReleasable(`allocation ${a.id} is already released`);
  const released: MachineRecord[] = [];
  for (const m of held) {
    try {
      const r = await deps.transitions.apply({
        machine: m.name, event: 'release', actor, cause: `released from ${a.id} (${a.owner})`, data: { allocation: a.id, owner: a.owner },
        ownedBy: a.owner,
      });
      released.push(r.machine);
    } catch (err) {
      // It moved between the check and now (an operator acted, or it went on to another owner):
      // leave it, say so in the log.
      if (!(err instanceof IllegalTransition) && !(err instanceof MachineNotFound)) throw err;
      deps.warn?.(`allocation ${a.id}: ${m.name} changed state during release`, err);
    }
  }
  return released;
}
