// The machine lifecycle (SPEC §2): states, one declarative transition table, and a pure function
// that applies an event. Nothing here touches the store: the caller saves the result with one
// compare-and-set, so the engine can be tested on its own and the docs' diagram drawn from it.

/** Every state a machine can be in, with a one-line meaning. */
export const STATES = {
  enrolled: 'known from the inventory or discovery, not yet inspected',
  inspecting: 'booted into the agent, which is reporting hardware facts',
  ready: 'inspected and idle in the pool; boots from its disk if powered on',
  allocated: 'reserved for an owner, not yet deployed',
  deploying: 'the agent is writing an image, or an installer is running',
  deployed: 'running its deployed system, which has phoned home',
  releasing: 'the agent is erasing its disks before it returns to the pool',
  failed: 'a step failed or timed out; keeps the state it failed from and why',
  maintenance: 'taken out of service by an operator; Rackhand does nothing with it',
} as const;

export type State = keyof typeof STATES;
export const ALL_STATES = Object.keys(STATES) as State[];

/** States in which work is under way; each has a timeout, and a failure sends it to `failed`. */
export const TRANSITIONAL: ReadonlySet<State> = new Set<State>(['inspecting', 'deploying', 'releasing']);
/** The operation each transitional state runs; entering the state starts one, with a fresh token. */
export const ACTIVITY = { inspecting: 'inspect', deploying: 'deploy', releasing: 'erase' } as const;
export type Activity = (typeof ACTIVITY)[keyof typeof ACTIVITY];

/**
 * States in which a machine boots from its own disk: every state without work under way. A
 * failed machine does too, until an operator retries; its disk is what it last had.
 */
export const LOCAL_BOOT: ReadonlySet<State> = new Set<State>(ALL_STATES.filter((s) => !TRANSITIONAL.has(s)));
/** States an operator may leave a machine in indefinitely. */
export const STABLE: ReadonlySet<State> = new Set<State>(['enrolled', 'ready', 'allocated', 'deployed']);

/** Default seconds a machine may stay in a transitional state before it fails with a timeout. */
export const DEFAULT_TIMEOUTS: Readonly<Record<string, number>> = {
  inspecting: 30 * 60,
  deploying: 60 * 60,
  releasing: 60 * 60,
};

export type Actor = 'operator' | 'agent' | 'system';

/** Events an operator or tenant may send through the API and CLI. */
export const OPERATOR_EVENTS = [
  'inspect', 'allocate', 'deploy', 'reimage', 'release', 'retry', 'maintenance_on', 'maintenance_off', 'fail',
] as const;
/** Events only the agent, the deployed system or the daemon itself send. */
export const INTERNAL_EVENTS = ['inspected', 'deployed', 'erased', 'redeploy', 'timeout', 'error'] as const;

export type OperatorEvent = (typeof OPERATOR_EVENTS)[number];
export type InternalEvent = (typeof INTERNAL_EVENTS)[number];
export type LifecycleEvent = OperatorEvent | InternalEvent;
export const ALL_EVENTS: readonly LifecycleEvent[] = [...OPERATOR_EVENTS, ...INTERNAL_EVENTS];

/**
 * Where a transition leads: a fixed state, or one of two remembered states —
 * `previous` (the state a failed machine failed from, for retry) and
 * `resume` (the state a machine was in when put into maintenance).
 */
export type Target = State | 'previous' | 'resume';

export interface Transition {
  from: readonly State[];
  event: LifecycleEvent;
  to: Target;
  /** What the transition means, in one sentence (shown in docs and errors). */
  says: string;
}

const ANY_BUT_MAINTENANCE = ALL_STATES.filter((s) => s !== 'maintenance');
const TRANSITIONAL_STATES = [...TRANSITIONAL];

/** The whole lifecycle, one transition per line. Order matters only for documentation. */
export const TRANSITIONS: readonly Transition[] = [
  { from: ['enrolled', 'ready', 'failed'], event: 'inspect', to: 'inspecting', says: 'boot the agent to inspect the hardware' },
  { from: ['inspecting'], event: 'inspected', to: 'ready', says: 'the agent reported the facts' },
  { from: ['ready'], event: 'allocate', to: 'allocated', says: 'reserve the machine for an owner' },
  { from: ['ready', 'allocated', 'failed'], event: 'deploy', to: 'deploying', says: 'write the profile\'s image or run its installer' },
  { from: ['deploying'], event: 'deployed', to: 'deployed', says: 'the deployed system phoned home' },
  { from: ['deployed', 'ready'], event: 'reimage', to: 'deploying', says: 'deploy the profile again from scratch' },
  { from: ['deployed'], event: 'release', to: 'releasing', says: 'the owner let go: erase the disks' },
  { from: ['allocated'], event: 'release', to: 'ready', says: 'the owner let go before deploying: back to the pool' },
  // Beyond SPEC §2, which only releases deployed machines: whatever a deploy wrote — a partial
  // image, a seed with the owner's user-data — must not outlive the owner's interest in it.
  { from: ['deploying', 'failed'], event: 'release', to: 'releasing', says: 'let go mid-deploy or after a failure: erase whatever was written' },
  { from: ['releasing'], event: 'erased', to: 'ready', says: 'the agent erased the disks: back to the pool' },
  { from: ['releasing'], event: 'redeploy', to: 'deploying', says: 'the disks are erased and policy redeploys at once' },
  { from: TRANSITIONAL_STATES, event: 'timeout', to: 'failed', says: 'the step took longer than its timeout' },
  { from: TRANSITIONAL_STATES, event: 'error', to: 'failed', says: 'the agent, an installer or a BMC reported an error' },
  { from: TRANSITIONAL_STATES, event: 'fail', to: 'failed', says: 'an operator declared the step failed' },
  { from: ['failed'], event: 'retry', to: 'previous', says: 'run the step that failed again' },
  { from: ANY_BUT_MAINTENANCE, event: 'maintenance_on', to: 'maintenance', says: 'take the machine out of service' },
  { from: ['maintenance'], event: 'maintenance_off', to: 'resume', says: 'return to service in the state it left' },
];

/** The part of a machine the engine needs to decide a transition. */
export interface LifecycleView {
  state: State;
  /** failed: the state it failed from; maintenance: the state it was in before. */
  previousState: State | null;
  owner: string | null;
}

export interface EventArgs {
  owner?: string;
  reason?: string;
}

/** What the caller must write, with one compare-and-set on `from`. */
export interface Outcome {
  from: State;
  to: State;
  event: LifecycleEvent;
  previousState: State | null;
  owner: string | null;
  lastError: string | null;
}

export class IllegalTransition extends Error {
  readonly code = 'ILLEGAL_TRANSITION';
  constructor(readonly state: State, readonly event: string, readonly allowed: LifecycleEvent[], readonly detail?: string) {
    super(detail ?? IllegalTransition.explain(state, event, allowed));
  }

  /** The message as one audience sees it: only the events that audience may send. */
  messageFor(only: readonly LifecycleEvent[]): string {
    return this.detail ?? IllegalTransition.explain(this.state, this.event, this.allowed.filter((e) => only.includes(e)));
  }

  private static explain(state: State, event: string, allowed: LifecycleEvent[]): string {
    return `cannot ${event} a machine that is ${state}; allowed: ${allowed.length ? allowed.join(', ') : 'none'}`;
  }
}

/** Events the table accepts from `state` (optionally only those an operator may send). */
export function allowedEvents(state: State, only?: readonly LifecycleEvent[]): LifecycleEvent[] {
  const events = TRANSITIONS.filter((t) => t.from.includes(state)).map((t) => t.event);
  return [...new Set(events)].filter((e) => !only || only.includes(e));
}

/**
 * Events this machine may take now: the table's for its state, less those its history refuses
 * (retry with no state to return to; inspect or deploy after a failed erase). What applyEvent
 * accepts, so a list shown to an operator never offers what will be refused.
 */
export function machineEvents(machine: LifecycleView, only?: readonly LifecycleEvent[]): LifecycleEvent[] {
  return allowedEvents(machine.state, only).filter((e) => {
    if (e === 'retry') return !!machine.previousState && machine.previousState !== 'failed';
    if (e === 'inspect' || e === 'deploy') return !erasedFailed(machine);
    return true;
  });
}

/** A machine whose erase failed or timed out: its disks may still hold the previous tenant's data. */
function erasedFailed(machine: LifecycleView): boolean {
  return machine.state === 'failed' && machine.previousState === 'releasing';
}

export function isEvent(name: string): name is LifecycleEvent {
  return (ALL_EVENTS as readonly string[]).includes(name);
}

/**
 * Applies `event` to a machine and returns what to store, or throws IllegalTransition.
 * Pure: the same inputs always give the same outcome.
 */
export function applyEvent(machine: LifecycleView, event: LifecycleEvent, args: EventArgs = {}): Outcome {
  const { state } = machine;
  const transition = TRANSITIONS.find((t) => t.event === event && t.from.includes(state));
  if (!transition) throw new IllegalTransition(state, event, allowedEvents(state));

  // A machine whose erase failed or timed out may still hold the previous tenant's data: only
  // another erase (retry, release) may take it on, never inspect (which ends in ready) or a
  // deploy over that data. Maintenance (e.g. to replace a disk) is the operator's way out.
  if (erasedFailed(machine) && (event === 'inspect' || event === 'deploy')) {
    throw new IllegalTransition(state, event, machineEvents(machine),
      `cannot ${event} a machine whose erase failed: its disks may hold the previous tenant's data; retry or release erases them again (maintenance_on to replace a disk)`);
  }

  if (event === 'allocate' && !args.owner) {
    throw new IllegalTransition(state, event, allowedEvents(state), 'allocate needs an owner');
  }

  let to: State;
  let previousState: State | null = null;
  let lastError: string | null = null;
  let owner = machine.owner;

  switch (transition.to) {
    case 'previous':
      if (!machine.previousState || machine.previousState === 'failed') {
        throw new IllegalTransition(state, event, allowedEvents(state).filter((e) => e !== 'retry'),
          'cannot retry: the machine does not record which state it failed from');
      }
      to = machine.previousState;
      break;
    case 'resume':
      // A stable state resumes as it was; work that maintenance interrupted is not picked up
      // silently: it fails with a reason, and `retry` runs it again.
      if (machine.previousState && STABLE.has(machine.previousState)) {
        to = machine.previousState;
      } else if (machine.previousState && TRANSITIONAL.has(machine.previousState)) {
        to = 'failed';
        previousState = machine.previousState;
        lastError = `maintenance interrupted ${machine.previousState}`;
      } else {
        to = machine.previousState === 'failed' ? 'failed' : 'enrolled';
      }
      break;
    default:
      to = transition.to;
  }

  if (to === 'failed' && transition.to === 'failed') {
    previousState = state;
    lastError = args.reason ?? (event === 'timeout' ? `timed out in ${state}` : `${event} in ${state}`);
  }
  if (to === 'maintenance') previousState = state;
  if (to === 'failed' && transition.to === 'resume' && machine.previousState === 'failed') {
    previousState = null;
    lastError = args.reason ?? 'was failed before maintenance';
  }

  if (event === 'allocate') owner = args.owner ?? null;
  // Back in the pool means nobody owns it any more; so does a redeploy after a release: the
  // tenant let go, and the machine is reimaged for whoever comes next.
  if ((to === 'ready' && (event === 'release' || event === 'erased')) || event === 'redeploy') owner = null;

  return { from: state, to, event, previousState, owner, lastError };
}

/** The timeout in seconds of a state, if it has one. */
export function timeoutFor(state: State, overrides: Partial<Record<State, number>> = {}): number | undefined {
  if (!TRANSITIONAL.has(state)) return undefined;
  return overrides[state] ?? DEFAULT_TIMEOUTS[state];
}

/** A Mermaid state diagram drawn from the table, for the README (`rackhand docs diagram`). */
export function mermaidDiagram(): string {
  const name = (t: Target) => (t === 'previous' ? 'state_it_failed_from' : t === 'resume' ? 'state_before_maintenance' : t);
  const lines = ['stateDiagram-v2', '    [*] --> enrolled'];
  for (const t of TRANSITIONS) {
    for (const from of t.from) lines.push(`    ${from} --> ${name(t.to)}: ${t.event}`);
  }
  return lines.join('\n');
}
