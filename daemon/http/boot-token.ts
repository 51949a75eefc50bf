// Who may fetch a boot secret. Three credentials, each good only from the machine's own address
// (machine-source.ts) and only while its operation runs:
// - the operation token, in the path of URLs that installers and cloud-init fetch (NoCloud data,
//   installer answers, phone-home); the deployed system's NoCloud data and phone-home keep working
//   after the deployment succeeded, until the machine is released;
// - the boot nonce, in the iPXE script's kernel command line: one use, a few minutes' life;
// - the agent token the agent gets for the nonce, sent in a header on every agent call.
// Refusals go to the aggregated refusal log (refusals.ts), never with the secret itself.
import type { Request } from 'express';
import { createHash, randomBytes } from 'node:crypto';
import { ApiError } from './errors.js';
import type { LeaseStore, MachineRecord, MachineStore, OperationRecord, OperationStore } from '../core/store/types.js';
import { RefusalLog } from './refusals.js';
import { isMachineSource, sourceOf } from './machine-source.js';

/** What boot-time authorization reads and writes: operations and their secrets, the machine, its lease, the refusal events. */
export type BootTokenStore = OperationStore & Pick<MachineStore, 'getMachine' | 'appendEvent'> & Pick<LeaseStore, 'getLease'>;

export interface BootAuth {
  operation: OperationRecord;
  machine: MachineRecord;
}

export type TokenUse =
  /** The agent and installers: only while the operation runs. */
  | 'running'
  /** Metadata and phone-home: also after a deployment succeeded, while it is the machine's latest. */
  | 'deployment';

/** The header the agent sends its agent token in (not the URL: URLs end up in logs). */
export const AGENT_TOKEN_HEADER = 'x-rackhand-agent-token';
/** How long a boot nonce can be traded after its script was served. */
export const NONCE_LIFE_MS = 10 * 60_000;

export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function newSecret(): string {
  return randomBytes(24).toString('base64url');
}

/** One refusal log per store: the boot, metadata and agent routers share it. */
const logs = new WeakMap<BootTokenStore, RefusalLog>();
export function refusalLog(store: BootTokenStore): RefusalLog {
  let log = logs.get(store);
  if (!log) { log = new RefusalLog((ev) => store.appendEvent(ev)); logs.set(store, log); }
  return log;
}

function routeOf(req: Request): string {
  return `${req.method} ${req.baseUrl}${(req.route?.path as string | undefined) ?? ''}`;
}

/** Records the refusal (aggregated) and throws the 403. */
export function refuse(store: BootTokenStore, req: Request, machine: string | null, why: string): never {
  refusalLog(store).refuse(sourceOf(req), { machine, why, route: routeOf(req) });
  throw new ApiError('FORBIDDEN', 'refused');
}

/** Throws 403 unless the request comes from the machine's own address. */
export async function requireMachineSource(store: BootTokenStore, req: Request, machine: MachineRecord): Promise<void> {
  if (!(await isMachineSource(store, machine, sourceOf(req)))) refuse(store, req, machine.name, `not ${machine.name}'s address`);
}

/** An operation token from a URL path. */
export async function authorizeBoot(store: BootTokenStore, req: Request, token: string, use: TokenUse): Promise<BootAuth> {
  const operation = token.length >= 16 && token.length <= 128 ? await store.operationByToken(token) : undefined;
  const machine = operation ? await store.getMachine(operation.machine) : undefined;
  if (!operation || !machine) return refuse(store, req, null, 'unknown token');
  await requireMachineSource(store, req, machine);
  if (operation.state === 'running') return { operation, machine };
  if (use === 'deployment' && operation.kind === 'deploy' && operation.state === 'succeeded' && machine.state === 'deployed') {
    const latest = await store.latestOperation(machine.name);
    if (latest?.id === operation.id) return { operation, machine };
  }
  return refuse(store, req, machine.name, `stale token (operation ${operation.kind} ${operation.state})`);
}

/** The agent token from its header: the running operation it was traded for. */
export async function authorizeAgent(store: BootTokenStore, req: Request): Promise<BootAuth> {
  const token = req.get(AGENT_TOKEN_HEADER) ?? '';
  const operation = token.length >= 16 && token.length <= 128 ? await store.operationByAgentDigest(secretDigest(token)) : undefined;
  const machine = operation ? await store.getMachine(operation.machine) : undefined;
  if (!operation || !machine) return refuse(store, req, null, token ? 'unknown agent token' : `no ${AGENT_TOKEN_HEADER} header`);
  await requireMachineSource(store, req, machine);
  if (operation.state !== 'running') return refuse(store, req, machine.name, `agent token of an ended operation (${operation.kind} ${operation.state})`);
  return { operation, machine };
}

/** A fresh boot nonce; it counts only once kept with keepNonce (the script that carries it is sent). */
export function newNonce(): string {
  return newSecret();
}

/** Makes `nonce` the operation's boot nonce, replacing any earlier one; the store keeps its digest. */
export async function keepNonce(store: BootTokenStore, operation: OperationRecord, nonce: string, now = Date.now()): Promise<void> {
  await store.setBootNonce(operation.id, secretDigest(nonce), new Date(now + NONCE_LIFE_MS).toISOString());
}

/**
 * Trades a nonce for a new agent token, once. A second trade, an expired nonce or one from
 * another address is refused and recorded.
 */
export async function tradeNonce(store: BootTokenStore, req: Request, nonce: string): Promise<{ token: string; auth: BootAuth }> {
  const digest = secretDigest(nonce);
  const known = nonce.length >= 16 && nonce.length <= 128 ? await store.operationByNonceDigest(digest) : undefined;
  const machine = known ? await store.getMachine(known.machine) : undefined;
  if (!known || !machine) return refuse(store, req, null, 'unknown boot nonce');
  await requireMachineSource(store, req, machine);
  const token = newSecret();
  const trade = await store.tradeBootNonce(digest, secretDigest(token), new Date().toISOString());
  if (!trade.ok) {
    const why = { unknown: 'unknown boot nonce', traded: 'boot nonce already traded (replay)', expired: 'boot nonce expired', ended: 'boot nonce of an ended operation' }[trade.why];
    return refuse(store, req, machine.name, why);
  }
  return { token, auth: { operation: trade.operation, machine } };
}
