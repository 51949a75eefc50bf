// What a Redfish task monitor (or task) answer says about the work behind a 202 (pure).
// DSP0266 §13: the monitor answers 202 while the task runs, then once the operation's own
// response (any other status), after which it may be gone (404): the Task resource then tells.
import { redfishErrorText } from './redfish-map.js';
import type { TaskProgress } from './types.js';

const RUNNING = new Set(['New', 'Starting', 'Running', 'Suspended', 'Interrupted', 'Pending', 'Stopping', 'Service', 'Cancelling']);
const FAILED = new Set(['Exception', 'Killed', 'Cancelled']);

interface TaskMessage { MessageId?: unknown; Message?: unknown }

/** The task's own messages, as the BMC worded them, bounded. */
export function taskMessages(body: unknown): string {
  const b = body as { Messages?: unknown } | undefined;
  const msgs = Array.isArray(b?.Messages) ? (b.Messages as TaskMessage[]) : [];
  const text = msgs.map((m) => [typeof m.MessageId === 'string' ? m.MessageId : '', typeof m.Message === 'string' ? m.Message : ''].filter(Boolean).join(': ')).filter(Boolean).join('; ');
  return text.slice(0, 500);
}

/** A Task resource's state. Completed with TaskStatus Critical is a failure too. */
export function taskResourceProgress(body: unknown): TaskProgress | undefined {
  const b = body as { TaskState?: unknown; TaskStatus?: unknown } | undefined;
  if (typeof b?.TaskState !== 'string') return undefined;
  const said = taskMessages(body) || `task ${b.TaskState}`;
  if (FAILED.has(b.TaskState) || (b.TaskState === 'Completed' && b.TaskStatus === 'Critical')) return { state: 'failed', message: said };
  if (RUNNING.has(b.TaskState)) return { state: 'running' };
  return { state: 'completed' };
}

/** One GET of the monitor: its status and body → progress; undefined for "gone, ask the task". */
export function monitorProgress(status: number, body: unknown): TaskProgress | undefined {
  if (status === 202) return { state: 'running' };
  if (status === 404 || status === 410) return undefined;
  const task = taskResourceProgress(body);
  if (status >= 200 && status < 300) return task ?? { state: 'completed' };
  const { text } = redfishErrorText(body);
  return { state: 'failed', message: `HTTP ${status}${text ? `: ${text}` : task?.state === 'failed' ? `: ${task.message}` : ''}` };
}
