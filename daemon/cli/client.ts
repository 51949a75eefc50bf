// The CLI's side of the REST API. RACKHAND_URL and RACKHAND_TOKEN say where and who; without
// them, the local daemon and the admin token from its state directory's token file.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { readTokenFile, TOKEN_FILE } from '../http/api/tokens.js';
import { defaultStateDir } from './paths.js';
import { safeJson } from './safe-text.js';

export class CliError extends Error {
  /** `answer`: the daemon's HTTP status and the field its error named, when it answered. */
  constructor(message: string, readonly exitCode: 1 | 2 = 1, readonly answer: { status?: number; field?: string } = {}) {
    super(message);
  }
}

export interface ApiClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
}

export function apiClient(opts: { url?: string; token?: string; stateDir?: string; timeoutMs?: number } = {}): ApiClient {
  const base = (opts.url ?? process.env.RACKHAND_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  // An empty RACKHAND_TOKEN counts as unset.
  const token = opts.token || process.env.RACKHAND_TOKEN || localToken(opts.stateDir ?? defaultStateDir());
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new CliError(`cannot reach the daemon at ${base} (${cause}); is \`rackhand serve\` running? (RACKHAND_URL)`);
    }
    const text = await res.text();
    let parsed: unknown;
    try { parsed = text ? JSON.parse(text) : {}; } catch { parsed = { error: { message: text.slice(0, 200) } }; }
    // Everything the CLI prints of an answer comes from here: no server text reaches the terminal raw.
    parsed = safeJson(parsed);
    if (!res.ok) {
      const e = (parsed as { error?: { message?: string; allowed?: string[]; field?: string } }).error;
      const allowed = e?.allowed ? ` (allowed: ${e.allowed.join(', ') || 'none'})` : '';
      throw new CliError(`${e?.message ?? `HTTP ${res.status}`}${e?.message?.includes('allowed:') ? '' : allowed}`, 1,
        { status: res.status, field: typeof e?.field === 'string' ? e.field : undefined });
    }
    return parsed as T;
  };
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body ?? {}),
    del: (path) => call('DELETE', path),
  };
}

/**
 * Retries while the daemon cannot be reached (a restart, a crash and its supervisor's restart)
 * for up to two minutes; the work goes on without it, and so does the follower.
 */
export async function patiently<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof CliError && err.message.startsWith('cannot reach the daemon')) || attempt >= 120) throw err;
      if (attempt === 0) process.stderr.write(`rackhand: ${err.message}; retrying\n`);
      await sleep(1000);
    }
  }
}

function localToken(stateDir: string): string | undefined {
  const file = join(stateDir, TOKEN_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return readTokenFile(file).find((t) => t.role === 'admin')?.token;
  } catch {
    return undefined;
  }
}
