// API bearer tokens, kept in a file in the state directory (mode 0600). The first start writes
// one admin token and says where; operators add read-only tokens by editing the file. Tenants'
// owner-scoped tokens are created through the API and kept in SQLite, as sha256 digests only.
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const TOKEN_FILE = 'tokens.json';
export type Role = 'admin' | 'readonly';

const tokenFileSchema = z.object({
  tokens: z.array(z.object({
    name: z.string().min(1),
    role: z.enum(['admin', 'readonly']),
    token: z.string().min(16),
  })),
});
export type TokenEntry = z.infer<typeof tokenFileSchema>['tokens'][number];

export function newToken(): string {
  return 'rh_' + randomBytes(24).toString('base64url');
}

/** Loads the token file, creating it with one admin token if it is missing. */
export function ensureTokenFile(stateDir: string): { path: string; created: boolean } {
  const path = join(stateDir, TOKEN_FILE);
  if (existsSync(path)) {
    chmodSync(path, 0o600); // tokens are secrets: keep the file private even if someone loosened it
    return { path, created: false };
  }
  const body = JSON.stringify({ tokens: [{ name: 'admin', role: 'admin', token: newToken() }] }, null, 2) + '\n';
  // Written under a temporary name with its final mode, then renamed: never readable half-made.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, body, { mode: 0o600 });
  renameSync(tmp, path);
  return { path, created: true };
}

export function readTokenFile(path: string): TokenEntry[] {
  return tokenFileSchema.parse(JSON.parse(readFileSync(path, 'utf8'))).tokens;
}

const digest = (s: string) => createHash('sha256').update(s).digest();
/** How an owner token's secret is stored and looked up: one-way, so the database holds no secret. */
export const tokenDigest = (s: string): string => digest(s).toString('hex');

/** Who is calling: a token from the file (admin, readonly) or an owner-scoped tenant token. */
export type Principal =
  | { name: string; role: Role }
  | { name: string; role: 'owner'; owner: string };

/** The actor events record for a principal. */
export const actorOf = (p: Principal): string => (p.role === 'owner' ? `tenant:${p.owner}/${p.name}` : `operator:${p.name}`);

/** Looks tokens up in constant time (by their digests), so a timing probe learns nothing. */
export class TokenBook {
  private entries: { digest: Buffer; entry: TokenEntry }[] = [];

  constructor(entries: TokenEntry[]) {
    this.replace(entries);
  }

  replace(entries: TokenEntry[]): void {
    this.entries = entries.map((entry) => ({ digest: digest(entry.token), entry }));
  }

  /** The file's token names (an owner token may not reuse one: events name actors by it). */
  names(): string[] {
    return this.entries.map((e) => e.entry.name);
  }

  /** The file's tokens as a list may show them: name and role, never the secret. */
  list(): { name: string; role: Role }[] {
    return this.entries.map((e) => ({ name: e.entry.name, role: e.entry.role }));
  }

  find(token: string): TokenEntry | undefined {
    return this.findByDigest(digest(token));
  }

  /** By the token's sha256 (a Buffer, or hex as tokenDigest gives it): what a dashboard session keeps. */
  findByDigest(d: Buffer | string): TokenEntry | undefined {
    if (typeof d === 'string') d = Buffer.from(d, 'hex');
    if (d.length !== 32) return undefined;
    let found: TokenEntry | undefined;
    for (const e of this.entries) if (timingSafeEqual(e.digest, d)) found = e.entry;
    return found;
  }
}

/**
 * Gives the file token `name` a new secret: tokens.json is rewritten under a temporary name with
 * mode 0600 and renamed over the old one (never readable half-made, never world-readable).
 * Returns the file's entries after, and the new secret; undefined when no entry has that name.
 */
export function rotateFileToken(path: string, name: string): { entries: TokenEntry[]; secret: string } | undefined {
  const entries = readTokenFile(path);
  const entry = entries.find((e) => e.name === name);
  if (!entry) return undefined;
  const secret = newToken();
  entry.token = secret;
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify({ tokens: entries }, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600); // the mode option is filtered by the umask: make sure
  renameSync(tmp, path);
  return { entries, secret };
}
