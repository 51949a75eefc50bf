// Shared by the TFTP net tests: a namespace pair, a root directory of test files, the server
// running as a child process inside the server namespace (tests/lib/tftp-server.ts), and the
// raw sender for malformed packets. Real clients run through tryExec (tests/lib/netns.ts).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { twoHostLink, type Link } from '../lib/netns.js';
import { startChildServer, type ChildServer } from '../lib/tftp-server.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const RAW_SENDER = fileURLToPath(new URL('./tftp-raw-sender.ts', import.meta.url));
export const CLIENT_ADDRESS = '10.20.0.50';

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

export interface Fixture { dir: string; root: string; out: string; hashes: Record<string, string>; remove(): void }

/** A root with random files of the given sizes, a secret outside it and a symlink escaping to it. */
export function makeRoot(sizes: Record<string, number>): Fixture {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rh-tftp-net-'));
  const root = path.join(dir, 'root');
  const out = path.join(dir, 'out');
  mkdirSync(root);
  mkdirSync(out);
  const hashes: Record<string, string> = {};
  for (const [name, size] of Object.entries(sizes)) {
    const data = randomBytes(size);
    writeFileSync(path.join(root, name), data);
    hashes[name] = createHash('sha256').update(data).digest('hex');
  }
  writeFileSync(path.join(dir, 'secret'), 'outside the root\n');
  symlinkSync('../secret', path.join(root, 'escape'));
  writeFileSync(path.join(root, 'motd.txt'), 'line one\nline two\n');
  return { dir, root, out, hashes, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Bench { link: Link; fixture: Fixture; server: ChildServer; close(): Promise<void> }

/** Link + root + server child; close() undoes all three, whatever state they are in. */
export async function setup(tag: string, sizes: Record<string, number>, settings: Record<string, unknown> = {}): Promise<Bench> {
  const fixture = makeRoot(sizes);
  let link: Link | undefined;
  try {
    link = await twoHostLink({ tag, clientAddress: CLIENT_ADDRESS });
    const server = await startChildServer(link.server, { root: fixture.root, address: link.serverAddress, port: 69, ...settings });
    const l = link;
    return { link: l, fixture, server, async close() { await server.stop().catch(() => undefined); await l.close(); fixture.remove(); } };
  } catch (err) {
    await link?.close();
    fixture.remove();
    throw err;
  }
}
