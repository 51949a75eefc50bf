// The API's error catalogue: a stable code, its HTTP status, and a body that names the failing
// field (for bad input) or the allowed events (for an illegal transition).

export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, says: 'the request is malformed; `field` names what is wrong' },
  UNAUTHENTICATED: { status: 401, says: 'no bearer token, or an unknown one' },
  FORBIDDEN: { status: 403, says: 'the token may not do this (a read-only token mutating, a tenant token using an operator action)' },
  NOT_FOUND: { status: 404, says: 'no such machine, route or resource' },
  TOO_LARGE: { status: 413, says: 'the body is larger, or has more fields, than the route accepts' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, says: 'the body\'s Content-Encoding or charset is not one the route reads (identity, gzip, deflate, br; utf-8)' },
  ILLEGAL_TRANSITION: { status: 409, says: 'the machine\'s state does not allow this event; `allowed` lists what it does' },
  CONFLICT: { status: 409, says: 'the machine changed state meanwhile, or an allocation cannot be released yet; the message says which' },
  NO_FIT: { status: 409, says: 'no ready machines meet the allocation\'s constraints; `unmet` names the constraint to relax, `closest` how many machines came closest' },
  POWER_FAILED: { status: 502, says: 'the BMC call failed; `power_code` says how (AUTH_FAILED, UNREACHABLE, UNSUPPORTED, TIMEOUT, BMC_ERROR, CONFIG)' },
  BUSY: { status: 503, says: 'the daemon holds as many waiting requests (`GET /api/v1/events?wait=…`) as it allows; retry shortly' },
  STORE_UNAVAILABLE: { status: 503, says: 'the daemon cannot reach its database (PostgreSQL restarting, failing over, unreachable): retry after Retry-After seconds (a change whose connection broke mid-way may have been made: read before repeating it)' },
  INTERNAL: { status: 500, says: 'a bug or an unexpected failure; the daemon log has the cause' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ApiError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly extra: {
    field?: string; issues?: { field: string; message: string }[]; allowed?: string[]; power_code?: string;
    unmet?: { constraint: string; wanted: string; best: string | null }; closest?: number; fitting?: number; ready?: number;
  } = {}) {
    super(message);
  }
  get status(): number {
    return ERROR_CODES[this.code].status;
  }
  toJSON() {
    return { error: { code: this.code, message: this.message, ...this.extra } };
  }
}
