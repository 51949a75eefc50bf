// A daemon started in-process on a loopback port, over a temporary state directory and a copy
// of an inventory, for API and CLI tests.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type Daemon, type ServeOptions } from '../../daemon/serve.js';
import { silentLogger } from '../../daemon/log.js';
import { tempDir } from './tmp.js';

export const REPO = new URL('../../', import.meta.url).pathname;

export interface TestDaemon {
  daemon: Daemon;
  url: string;
  stateDir: string;
  inventoryFile: string;
  tokens: { admin: string; readonly: string };
  close(): Promise<void>;
}

export const ADMIN_TOKEN = 'rh_test_admin_token_0123456789';
export const READONLY_TOKEN = 'rh_test_readonly_token_0123456789';

/** Writes a state directory with a known admin and read-only token. */
export function prepareStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify({
    tokens: [
      { name: 'admin', role: 'admin', token: ADMIN_TOKEN },
      { name: 'viewer', role: 'readonly', token: READONLY_TOKEN },
    ],
  }), { mode: 0o600 });
}

/** A temporary copy of the repository's inventory and templates, so a test may edit them. */
export function inventoryCopy(): string {
  const dir = tempDir('inv');
  cpSync(join(REPO, 'inventory.yaml'), join(dir, 'inventory.yaml'));
  cpSync(join(REPO, 'templates'), join(dir, 'templates'), { recursive: true });
  return join(dir, 'inventory.yaml');
}

/** `serve` overrides the test defaults (a store URL, a cap) for tests that need them. */
export async function startTestDaemon(opts: { inventoryFile?: string; stateDir?: string; serve?: Partial<ServeOptions> } = {}): Promise<TestDaemon> {
  const stateDir = opts.stateDir ?? tempDir('state');
  prepareStateDir(stateDir);
  const inventoryFile = opts.inventoryFile ?? inventoryCopy();
  const daemon = await startDaemon({ inventoryFile, stateDir, logger: silentLogger, httpListen: '127.0.0.1', httpPort: 0, httpOnly: true, powerActions: false, ...opts.serve });
  const { port } = daemon.httpAddress();
  return {
    daemon, url: `http://127.0.0.1:${port}`, stateDir, inventoryFile,
    tokens: { admin: ADMIN_TOKEN, readonly: READONLY_TOKEN },
    close: () => daemon.close(),
  };
}
