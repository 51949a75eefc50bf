// Dashboard sessions: the browser holds only a random session id (an HttpOnly, SameSite=Strict
// cookie scoped to /ui); this daemon's memory maps it to the token that signed in and a CSRF
// secret. The token is kept here, not its principal, so every request resolves it again through
// the API's own check: a revoked or expired tenant token, or a token removed from tokens.json,
// ends its sessions at once. Sessions expire (idle and absolute) and are capped per daemon: the
// oldest goes when the cap is reached. A restart signs everyone out (nothing to leak on disk).
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'rh_session';
export const IDLE_MS = 60 * 60_000;
export const MAX_AGE_MS = 12 * 60 * 60_000;
export const DEFAULT_MAX_SESSIONS = 1000;

export interface Session {
  id: string;
  token: string;
  csrf: string;
  created: number;
  seen: number;
}

/** True when the CSRF value sent equals the session's, compared in constant time. */
export function csrfMatches(expected: string, sent: unknown): boolean {
  if (typeof sent !== 'string' || sent.length === 0) return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(sent, 'utf8');
  // timingSafeEqual needs equal lengths; the length of a random token is no secret.
  return a.length === b.length && timingSafeEqual(a, b);
}

export class SessionBook {
  // A Map keeps insertion order: the first entry is the oldest session.
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly max = DEFAULT_MAX_SESSIONS, private readonly now = () => Date.now()) {}

  open(token: string): Session {
    while (this.sessions.size >= this.max) this.sessions.delete(this.sessions.keys().next().value!);
    const t = this.now();
    const s: Session = { id: randomBytes(32).toString('base64url'), token, csrf: randomBytes(32).toString('base64url'), created: t, seen: t };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The live session with that id (its idle clock restarts), or undefined. */
  find(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const t = this.now();
    if (t - s.seen > IDLE_MS || t - s.created > MAX_AGE_MS) {
      this.sessions.delete(id);
      return undefined;
    }
    s.seen = t;
    return s;
  }

  close(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
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
