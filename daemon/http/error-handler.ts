// The one error handler of the HTTP application (API and boot routes alike). Bad input is the
// client's: every error Express, its router or a body parser raises for a request it could not
// read (a `%` that decodes to nothing, an unknown Content-Encoding, too many fields, a body too
// large or cut short) becomes a 4xx with a JSON error. Only what is left is a 500, logged, and
// its body never carries a stack or the error's own text. Domain errors (a refused transition,
// no machine, no fit, a BMC failure) become their status here, once, for every route.
import type { NextFunction, Request, Response } from 'express';
import { ApiError, type ErrorCode } from './errors.js';
import type { Logger } from '../log.js';
import { IllegalTransition, OPERATOR_EVENTS } from '../core/lifecycle.js';
import { MachineNotFound, TransitionConflict } from '../core/actions.js';
import { AllocationBusy, NoFit, NotReleasable } from '../core/allocate.js';
import { PowerError } from '../power/errors.js';
import { StoreUnavailable } from '../core/store/availability.js';

/** Seconds a client is told to wait before retrying while the store is away. */
const STORE_RETRY_AFTER_S = 5;

/** Body-parser and raw-body error types, with what to tell the client. */
const CLIENT_ERRORS: Record<string, (e: ForeignError) => ApiError> = {
  'entity.too.large': (e) => new ApiError('TOO_LARGE', `body is larger than this route accepts (${e.limit ?? '?'} bytes)`, { field: 'body' }),
  'parameters.too.many': (e) => new ApiError('TOO_LARGE', `body has more fields than this route accepts (${e.limit ?? '?'})`, { field: 'body' }),
  'encoding.unsupported': (e) => new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${JSON.stringify(e.encoding ?? '?')} is not supported: send identity, gzip, deflate or br`, { field: 'content-encoding' }),
  'charset.unsupported': (e) => new ApiError('UNSUPPORTED_MEDIA_TYPE', `charset ${JSON.stringify(e.charset ?? '?')} is not supported: send utf-8`, { field: 'content-type' }),
  'entity.parse.failed': (e) => new ApiError('BAD_REQUEST', `body is not valid JSON: ${String(e.message).slice(0, 200)}`, { field: 'body' }),
  'entity.verify.failed': () => new ApiError('BAD_REQUEST', 'body failed verification', { field: 'body' }),
  'request.aborted': () => new ApiError('BAD_REQUEST', 'the request was aborted before its body ended', { field: 'body' }),
  'request.size.invalid': () => new ApiError('BAD_REQUEST', 'the body\'s length does not match its Content-Length', { field: 'body' }),
};

interface ForeignError {
  type?: unknown; status?: unknown; statusCode?: unknown; expose?: unknown; message?: unknown;
  limit?: unknown; encoding?: unknown; charset?: unknown;
}

const BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST', 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 413: 'TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** A refusal of the domain as the API's error; undefined for anything else. */
export function domainError(err: unknown): ApiError | undefined {
  if (err instanceof MachineNotFound) return new ApiError('NOT_FOUND', err.message);
  if (err instanceof IllegalTransition) {
    // An operator's event lists only what operators may send; an agent's or a machine's, all.
    const only: readonly string[] = (OPERATOR_EVENTS as readonly string[]).includes(err.event) ? OPERATOR_EVENTS : err.allowed;
    const allowed = err.allowed.filter((e) => only.includes(e));
    return new ApiError('ILLEGAL_TRANSITION', err.messageFor(allowed), { allowed });
  }
  if (err instanceof TransitionConflict || err instanceof AllocationBusy || err instanceof NotReleasable) return new ApiError('CONFLICT', err.message);
  if (err instanceof NoFit) {
    const { unmet, closest, fitting, ready, unaccepted } = err.result;
    return new ApiError('NO_FIT', err.message, { unmet, closest, fitting, ready, ...(unaccepted && { unaccepted }) });
  }
  if (err instanceof PowerError) return new ApiError('POWER_FAILED', err.message, { power_code: err.code });
  if (err instanceof StoreUnavailable) {
    // The cause (a host, a port) is the operator's, in the log; any client may read this body.
    return new ApiError('STORE_UNAVAILABLE', 'the store (the daemon\'s database) is unavailable: retry later');
  }
  return undefined;
}

/** The client's mistake as an ApiError, or undefined for what is the daemon's own failure. */
export function clientError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  const domain = domainError(err);
  if (domain) return domain;
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as ForeignError;
  if (typeof e.type === 'string' && CLIENT_ERRORS[e.type]) return CLIENT_ERRORS[e.type]!(e);
  // http-errors style (the router's "Failed to decode param", send's 400/403/404/416): a 4xx the
  // raiser meant to expose. Keep its message, which names what was wrong; one line, bounded.
  const status = Number(e.status ?? e.statusCode);
  if (Number.isInteger(status) && status >= 400 && status < 500) {
    const code = BY_STATUS[status] ?? 'BAD_REQUEST';
    const message = e.expose !== false && typeof e.message === 'string' ? e.message : `HTTP ${status}`;
    return new ApiError(code, message.replace(/[\r\n]+/g, ' ').slice(0, 300));
  }
  return undefined;
}

/** `storeRefused`: counts each request refused because the store was away (logged once per outage elsewhere). */
export function errorHandler(logger: Logger, storeRefused?: () => void) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let apiError = clientError(err);
    if (apiError?.code === 'STORE_UNAVAILABLE') {
      storeRefused?.();
      if (!res.headersSent) res.set('retry-after', String(STORE_RETRY_AFTER_S));
    }
    if (!apiError) {
      logger.error({ err, method: req.method, path: req.path }, 'request failed');
      apiError = new ApiError('INTERNAL', 'internal error; see the daemon log');
    }
    if (res.headersSent) {
      // Mid-response (a file stream that broke): nothing sensible can follow; end the connection.
      res.destroy();
      return;
    }
    res.status(apiError.status).json(apiError.toJSON());
  };
}
