// Dashboard sessions: the browser holds only a random session id (an HttpOnly, SameSite=Strict
// cookie scoped to /ui); the store maps the id's digest to the digest of the token that signed in
// and a CSRF secret. The token's digest is kept, not its principal, so every request resolves it
// again through the API's own check: a revoked or expired tenant token, or a token removed from
// tokens.json, ends its sessions at once. Sessions live in the store so a daemon's restart signs
// nobody out and every daemon of a site (racks on PostgreSQL) knows them; the store holds digests
// only, so a copy of the database opens no session. They expire (idle and absolute) and are
// capped: the oldest goes when the cap is reached. While the store is unavailable (PostgreSQL
// away), the sessions this daemon saw last are still known from its memory, so an operator can
// read the overview's outage page; a session closed on another daemon meanwhile is closed here
// when the store is back.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { UiSessionRecord, UiSessionStore } from '../../core/store/types.js';
import { StoreUnavailable } from '../../core/store/availability.js';

export const SESSION_COOKIE = 'rh_session';
export const IDLE_MS = 60 * 60_000;
export const MAX_AGE_MS = 12 * 60 * 60_000;
export const DEFAULT_MAX_SESSIONS = 1000;
/** A session's seen time is written at most this often (not a write per request). */
export const TOUCH_MS = 60_000;

export interface Session {
  id: string;
  /** sha256 (hex) of the token that signed in. */
  tokenDigest: string;
  csrf: string;
  created: number;
  seen: number;
}

const digestOf = (id: string) => createHash('sha256').update(id).digest('hex');
const iso = (ms: number) => new Date(ms).toISOString();

/** True when the CSRF value sent equals the session's, compared in constant time. */
export function csrfMatches(expected: string, sent: unknown): boolean {
  if (typeof sent !== 'string' || sent.length === 0) return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(sent, 'utf8');
  // timingSafeEqual needs equal lengths; the length of a random token is no secret.
  return a.length === b.length && timingSafeEqual(a, b);
}

export class SessionBook {
  /** The sessions this daemon saw last, newest last (at most `max`): what it knows while the store is away. */
  private readonly known = new Map<string, UiSessionRecord>();

  constructor(
    private readonly store: UiSessionStore,
    private readonly max = DEFAULT_MAX_SESSIONS,
    private readonly now = () => Date.now(),
  ) {}

  private remember(rec: UiSessionRecord): void {
    this.known.delete(rec.idDigest);
    while (this.known.size >= this.max) this.known.delete(this.known.keys().next().value!);
    this.known.set(rec.idDigest, rec);
  }

  /** The stored session, or while the store is unavailable the one remembered. */
  private async lookup(idDigest: string): Promise<{ rec?: UiSessionRecord; stored: boolean }> {
    try {
      const rec = await this.store.uiSession(idDigest);
      if (rec) this.remember(rec); else this.known.delete(idDigest);
      return { rec, stored: true };
    } catch (err) {
      if (!(err instanceof StoreUnavailable)) throw err;
      const rec = this.known.get(idDigest);
      if (!rec) throw err;
      return { rec, stored: false };
    }
  }

  async open(tokenDigest: string): Promise<Session> {
    const t = this.now();
    const s: Session = { id: randomBytes(32).toString('base64url'), tokenDigest, csrf: randomBytes(32).toString('base64url'), created: t, seen: t };
    const rec = { idDigest: digestOf(s.id), tokenDigest, csrf: s.csrf, createdAt: iso(t), seenAt: iso(t) };
    await this.store.openUiSession(rec, this.max, iso(t - IDLE_MS));
    this.remember(rec);
    return s;
  }

  /** The live session with that id (its idle clock restarts), or undefined. */
  async find(id: string | undefined): Promise<Session | undefined> {
    // A cookie is at most a few dozen characters: anything longer is no session of ours.
    if (!id || id.length > 100) return undefined;
    const { rec, stored } = await this.lookup(digestOf(id));
    if (!rec) return undefined;
    const t = this.now();
    const s: Session = { id, tokenDigest: rec.tokenDigest, csrf: rec.csrf, created: Date.parse(rec.createdAt), seen: Date.parse(rec.seenAt) };
    if (t - s.seen > IDLE_MS || t - s.created > MAX_AGE_MS) {
      this.known.delete(rec.idDigest);
      if (stored) await this.store.closeUiSession(rec.idDigest);
      return undefined;
    }
    if (t - s.seen >= TOUCH_MS) {
      s.seen = t;
      this.remember({ ...rec, seenAt: iso(t) });
      if (stored) await this.store.touchUiSession(rec.idDigest, iso(t));
    }
    return s;
  }

  async close(id: string): Promise<void> {
    this.known.delete(digestOf(id));
    await this.store.closeUiSession(digestOf(id));
  }
}

/** The session id from a Cookie header (no cookie library for one name). */
export function sessionIdOf(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SESSION_COOKIE) return v.join('=') || undefined;
  }
  return undefined;
}

export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${MAX_AGE_MS / 1000}${secure ? '; Secure' : ''}`;
}

export const clearedCookie = (): string => `${SESSION_COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0`;
