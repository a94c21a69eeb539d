/**
 * Errors raised by the homeserver client (`client.ts`).
 *
 * Every class extends `FerryError` with code `homeserver_error`, so the CLI prints the message
 * and exits 3. The message always names the HTTP method and the request path *without* its
 * query string (which may carry `user_id`, `ts`, or on other servers an `access_token`), and
 * it is passed through `redactText`: an error can be logged or shown as-is.
 *
 * `retryable` follows `FerryError`'s meaning ("worth retrying the same operation unchanged"):
 * true for 429, 5xx and network failures. Whether the *client* retries automatically is a
 * separate decision made per endpoint in `retry.ts`; `createRoom`, for example, surfaces a
 * retryable 500 to its caller, which then checks the room alias before trying again.
 */

import { FerryError } from '../errors.js';
import { redactText } from '../redact.js';

/**
 * The Matrix error codes ferry branches on. The wire value is kept as a plain `string` on the
 * error (servers send codes we have never heard of); the predicates take this closed union so
 * that a typo is a compile error.
 */
export type MatrixErrcode =
  | 'M_FORBIDDEN'
  | 'M_UNKNOWN_TOKEN'
  | 'M_MISSING_TOKEN'
  | 'M_BAD_JSON'
  | 'M_NOT_JSON'
  | 'M_NOT_FOUND'
  | 'M_LIMIT_EXCEEDED'
  | 'M_UNKNOWN'
  | 'M_UNRECOGNIZED'
  | 'M_USER_IN_USE'
  | 'M_INVALID_USERNAME'
  | 'M_EXCLUSIVE'
  | 'M_ROOM_IN_USE'
  | 'M_TOO_LARGE'
  | 'M_DUPLICATE_ANNOTATION'
  | 'M_INVALID_PARAM'
  | 'M_MISSING_PARAM'
  | 'M_UNKNOWN_DEVICE'
  | 'M_APPSERVICE_LOGIN_UNSUPPORTED';

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** Statuses after which the same request may succeed unchanged. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** Removes the query string (and fragment) from a path; tokens can only hide there. */
export function stripQuery(path: string): string {
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}

/**
 * The homeserver answered with a non-2xx status.
 *
 * - `errcode`/`errorText`: from the Matrix error body; `undefined` when the body was not a
 *   Matrix error (e.g. an HTML page from a reverse proxy), in which case `errorText` holds the
 *   start of the body.
 * - `retryAfterMs`: from the body's `retry_after_ms` or else the `Retry-After` header
 *   (delta-seconds or an HTTP date); `undefined` when neither is present.
 */
export class MatrixHttpError extends FerryError {
  readonly method: HttpMethod;
  /** Request path as sent (percent-encoded), never with a query string. */
  readonly path: string;
  readonly status: number;
  readonly errcode: string | undefined;
  readonly errorText: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(init: {
    method: HttpMethod;
    path: string;
    status: number;
    errcode?: string | undefined;
    errorText?: string | undefined;
    retryAfterMs?: number | undefined;
  }) {
    const path = redactText(stripQuery(init.path));
    const errorText = init.errorText === undefined ? undefined : redactText(init.errorText);
    const detail = [String(init.status), init.errcode, errorText && JSON.stringify(errorText)]
      .filter((part): part is string => Boolean(part))
      .join(' ');
    super('homeserver_error', `Homeserver rejected ${init.method} ${path}: ${detail}`, {
      retryable: RETRYABLE_STATUSES.has(init.status),
    });
    this.name = 'MatrixHttpError';
    this.method = init.method;
    this.path = path;
    this.status = init.status;
    this.errcode = init.errcode;
    this.errorText = errorText;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/**
 * Whether a failed request may have reached the homeserver.
 * - `not_sent`: the connection was never established (refused, DNS failure, bad URL); the
 *   server cannot have acted on it, so even non-idempotent requests may be repeated.
 * - `maybe_sent`: reset, timeout or a broken response after the request may have been
 *   processed (an "ambiguous" failure).
 */
export type RequestDelivery = 'not_sent' | 'maybe_sent';

const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_INVALID_URL',
]);

/** `fetch` itself failed: no HTTP status was received. Always `retryable`. */
export class MatrixNetworkError extends FerryError {
  readonly method: HttpMethod;
  readonly path: string;
  readonly delivery: RequestDelivery;

  constructor(init: { method: HttpMethod; path: string; cause: unknown }) {
    const path = redactText(stripQuery(init.path));
    const reason = describeCause(init.cause);
    super(
      'homeserver_error',
      `Could not reach the homeserver for ${init.method} ${path}: ${reason}`,
      {
        cause: init.cause,
        retryable: true,
      },
    );
    this.name = 'MatrixNetworkError';
    this.method = init.method;
    this.path = path;
    this.delivery = NOT_SENT_CODES.has(causeCode(init.cause) ?? '') ? 'not_sent' : 'maybe_sent';
  }
}

/** A 2xx response whose body did not have the shape the spec promises. Not retryable. */
export class MatrixResponseError extends FerryError {
  readonly method: HttpMethod;
  readonly path: string;

  constructor(init: { method: HttpMethod; path: string; problem: string }) {
    const path = redactText(stripQuery(init.path));
    super(
      'homeserver_error',
      `Unexpected homeserver response to ${init.method} ${path}: ${redactText(init.problem)}`,
    );
    this.name = 'MatrixResponseError';
    this.method = init.method;
    this.path = path;
  }
}

export type MatrixClientError = MatrixHttpError | MatrixNetworkError | MatrixResponseError;

export const isMatrixHttpError = (e: unknown): e is MatrixHttpError => e instanceof MatrixHttpError;
export const isMatrixNetworkError = (e: unknown): e is MatrixNetworkError =>
  e instanceof MatrixNetworkError;

/** `e` is a homeserver error response with this errcode. */
export function isErrcode(e: unknown, errcode: MatrixErrcode): e is MatrixHttpError {
  return e instanceof MatrixHttpError && e.errcode === errcode;
}

/** `e` is a homeserver error response with this HTTP status (and errcode, if given). */
export function isStatus(
  e: unknown,
  status: number,
  errcode?: MatrixErrcode,
): e is MatrixHttpError {
  return (
    e instanceof MatrixHttpError &&
    e.status === status &&
    (errcode === undefined || e.errcode === errcode)
  );
}

/**
 * Parses a `Retry-After` header: delta-seconds (`"5"`) or an HTTP date. Returns milliseconds
 * from `nowMs`, never negative; `undefined` when absent or unparseable.
 */
export function parseRetryAfter(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function causeCode(cause: unknown): string | undefined {
  // undici wraps the socket error: TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }).
  for (let c: unknown = cause, depth = 0; c instanceof Object && depth < 4; depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}

/** An error's message chain (causes included), redacted: undici puts URLs in some messages. */
export function describeCause(cause: unknown): string {
  const parts: string[] = [];
  for (let c: unknown = cause, depth = 0; c !== undefined && depth < 4; depth++) {
    if (c instanceof Error) {
      parts.push(c.message);
      c = c.cause;
    } else {
      parts.push(typeof c === 'string' ? c : 'non-Error failure');
      break;
    }
  }
  return redactText(parts.join(': ') || 'unknown error');
}
