// A machine's operation log: what happened during one operation (inspect, deploy, erase), read
// back as one timeline. Two sources, each already the truth for its part: the events the store
// recorded while the operation ran (transitions, power, iPXE scripts served, agent steps), and
// the lines the agent sent (kept in a file per operation, since they are free text and can be
// long). Merging them is pure; reading them is the API's job.
import { join } from 'node:path';
import type { EventRecord, OperationRecord } from './store/types.js';

export interface OplogEntry {
  time: string;
  source: 'rackhand' | 'agent';
  text: string;
}

/** Where the agent's lines for one operation are kept, under the state directory. */
export function agentLogPath(stateDir: string, machine: string, operationId: string): string {
  return join(stateDir, 'oplogs', machine, `${operationId}.log`);
}

/** One agent line as stored: an ISO time, a space, the text. */
export function formatAgentLine(time: Date, text: string): string {
  return `${time.toISOString()} ${text}\n`;
}

export function parseAgentLines(file: string): OplogEntry[] {
  return file.split('\n').filter(Boolean).map((line) => {
    const space = line.indexOf(' ');
    return { time: line.slice(0, space), source: 'agent' as const, text: line.slice(space + 1) };
  });
}

function describeEvent(e: EventRecord): string {
  const what = e.kind === 'transition' ? `${e.from} → ${e.to} (${e.event})` : `${e.kind}${e.event ? ` ${e.event}` : ''}`;
  return `${what}${e.cause ? `: ${e.cause}` : ''}${e.actor ? ` [${e.actor}]` : ''}`;
}

/**
 * The events that belong to `op`: from its start to the transition that ended it. The store
 * stamps the operation and its starting event in one transaction, so the event is never
 * earlier than the operation; the ending transition is the first one at or after finishedAt.
 */
export function operationEvents(op: OperationRecord, events: readonly EventRecord[]): EventRecord[] {
  const mine: EventRecord[] = [];
  for (const e of events) {
    if (e.machine !== op.machine || e.time < op.createdAt) continue;
    mine.push(e);
    if (op.finishedAt && e.kind === 'transition' && e.time >= op.finishedAt) break;
  }
  return mine;
}

/** Both sources in time order; at equal times the daemon's entry comes first (it caused the other). */
export function mergeOplog(op: OperationRecord, events: readonly EventRecord[], agent: readonly OplogEntry[]): OplogEntry[] {
  const ours = operationEvents(op, events).map((e): OplogEntry => ({ time: e.time, source: 'rackhand', text: describeEvent(e) }));
  const rank = (s: OplogEntry['source']) => (s === 'rackhand' ? 0 : 1);
  return [...ours, ...agent].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : rank(a.source) - rank(b.source)));
}
