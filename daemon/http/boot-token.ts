// Boot-time requests carry their operation's token in the URL path. This resolves it to the
// operation and its machine, or refuses with 403 and records why (never the token itself):
// one machine can neither read another's rendered secrets nor report for it.
import type { Request } from 'express';
import { ApiError } from '../api/errors.js';
import type { MachineRecord, OperationRecord, Store } from '../core/store/types.js';

export interface BootAuth {
  operation: OperationRecord;
  machine: MachineRecord;
}

export type TokenUse =
  /** The agent and installers: only while the operation runs. */
  | 'running'
  /** Metadata and phone-home: also after a deployment succeeded, while it is the machine's latest. */
  | 'deployment';

export async function authorizeBoot(store: Store, req: Request, token: string, use: TokenUse): Promise<BootAuth> {
  const operation = token.length >= 16 ? await store.operationByToken(token) : undefined;
  const machine = operation ? await store.getMachine(operation.machine) : undefined;
  const refuse = async (why: string): Promise<never> => {
    await store.appendEvent({
      machine: machine?.name ?? null, kind: 'auth', event: 'token_refused',
      cause: `${why}: ${req.method} ${req.baseUrl}${req.route?.path ?? ''} from ${req.ip}`, actor: `http:${req.ip}`,
    });
    throw new ApiError('FORBIDDEN', 'token refused');
  };
  if (!operation || !machine) return refuse('unknown token');
  if (operation.state === 'running') return { operation, machine };
  if (use === 'deployment' && operation.kind === 'deploy' && operation.state === 'succeeded' && machine.state === 'deployed') {
    const latest = await store.latestOperation(machine.name);
    if (latest?.id === operation.id) return { operation, machine };
  }
  return refuse(`stale token (operation ${operation.kind} ${operation.state})`);
}
