// What the deploy agent does for each operation, step by step, and which step comes next.
// Pure: the daemon keeps the steps already done in the operation's progress, so an agent that
// reboots (or a daemon that restarts) resumes at the first step not done, never running one twice.
import type { Activity } from './lifecycle.js';

export const AGENT_STEPS = ['inspect', 'erase', 'image', 'configure', 'reboot', 'poweroff'] as const;
export type AgentStep = (typeof AGENT_STEPS)[number];

/** Steps the agent reports done; `reboot` and `poweroff` end the agent's run and are not reported. */
export const PLAN: Readonly<Record<Activity, readonly AgentStep[]>> = {
  inspect: ['inspect', 'poweroff'],
  erase: ['erase', 'poweroff'],
  deploy: ['image', 'configure', 'reboot'],
};

export const FINAL_STEPS: ReadonlySet<AgentStep> = new Set(['reboot', 'poweroff']);

export interface OperationProgress {
  done?: AgentStep[];
  /** The image step's counters, for live progress. */
  bytes?: number;
  total?: number;
  [key: string]: unknown;
}

export function doneSteps(progress: OperationProgress | null): AgentStep[] {
  return (progress?.done ?? []).filter((s): s is AgentStep => (AGENT_STEPS as readonly string[]).includes(s));
}

/**
 * The next step of a running operation: the first planned step not done.
 * For an operation that has ended: `reboot` when the machine has new work (a new running
 * operation, e.g. redeploy after erase) so it PXE-boots into it, otherwise `poweroff`.
 */
export function nextStep(op: { kind: string; state: string; progress: OperationProgress | null }, machineHasNewWork: boolean): AgentStep {
  if (op.state !== 'running') return machineHasNewWork ? 'reboot' : 'poweroff';
  const plan = PLAN[op.kind as Activity] ?? [];
  const done = new Set(doneSteps(op.progress));
  return plan.find((s) => !done.has(s)) ?? 'poweroff';
}

/** True once every step before the final reboot of a deployment is done: boot the disk now. */
export function imageWritten(op: { kind: string; progress: OperationProgress | null }): boolean {
  if (op.kind !== 'deploy') return false;
  const done = new Set(doneSteps(op.progress));
  return PLAN.deploy.filter((s) => !FINAL_STEPS.has(s)).every((s) => done.has(s));
}

/** Values for a POSIX shell to `eval`: key='value' lines, single quotes escaped. */
export function shellVars(vars: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(vars)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(k)) throw new Error(`shell variable name ${k} is not [a-z_][a-z0-9_]*`);
      return `${k}='${String(v).replace(/'/g, `'\\''`)}'`;
    })
    .join('\n') + '\n';
}

export function compressionOf(url: string): 'gzip' | 'zstd' | 'none' {
  if (/\.gz$/i.test(url)) return 'gzip';
  if (/\.zst$/i.test(url)) return 'zstd';
  return 'none';
}
