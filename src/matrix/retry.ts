/**
 * Retry policy for homeserver requests.
 *
 * What is retried depends on what a repeat can do to the server, so each request declares a
 * `RetryMode`:
 *
 * | mode            | 429 | 5xx (500/502/503/504) | network, `maybe_sent` | network, `not_sent` |
 * |-----------------|-----|------------------------|-----------------------|---------------------|
 * | `idempotent`    | yes | yes                    | yes                   | yes                 |
 * | `throttle_only` | yes | no                     | no                    | yes                 |
 * | `never`         | no  | no                     | no                    | no                  |
 *
 * - `idempotent`: repeating is harmless. `PUT /send/{type}/{txnId}` (the txn cache returns the
 *   first event ID), `PUT /state` (Synapse dedupes identical state), profile, alias and
 *   account-data PUTs, `register` (a repeat yields `M_USER_IN_USE`, which counts as success),
 *   join/invite/read markers, and every GET. Uploads from bytes are here as well: a
 *   duplicate upload only leaves an orphaned media file (Synapse does not dedupe uploads
 *   anyway), which is cheaper than failing an import on a transient 502.
 * - `throttle_only`: a repeat may duplicate work (`createRoom` would make a second room), so
 *   only failures that prove the server did nothing are retried: 429 (the rate limiter runs
 *   before the handler) and connections that were never established. Ambiguous failures
 *   are thrown (they are `retryable`) and the caller resolves them, e.g. by looking up the
 *   room alias.
 * - `never`: the request cannot be replayed at all, e.g. an upload whose body is a one-shot
 *   stream that `fetch` has already consumed.
 *
 * Delays: a 429 waits `retryAfterMs` from the response (1 s when absent, capped at
 * `maxRetryAfterMs`); other retries use exponential backoff with "equal jitter" — attempt n
 * waits between ½ and 1 × `baseDelayMs·2^(n−1)`, capped at `maxDelayMs` — so successive delays
 * never shrink and concurrent rooms do not retry in lock-step. All retries, 429s included,
 * share one `maxAttempts` budget (attempts, not retries: 8 means 1 try + 7 retries).
 */

import type { Logger } from '../logger.js';
import { MatrixHttpError, MatrixNetworkError, type HttpMethod } from './client-errors.js';

export type RetryMode = 'idempotent' | 'throttle_only' | 'never';

export interface RetryOptions {
  /** Total attempts including the first; default 8. `1` disables retries. */
  maxAttempts: number;
  /** Backoff base for 5xx and network errors; default 250 ms. */
  baseDelayMs: number;
  /** Backoff cap for 5xx and network errors; default 30 s. */
  maxDelayMs: number;
  /** Wait for a 429 without `retry_after_ms`/`Retry-After`; default 1 s. */
  defaultRetryAfterMs: number;
  /** Cap on a server-requested 429 wait; default 60 s. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_OPTIONS: Readonly<RetryOptions> = Object.freeze({
  maxAttempts: 8,
  baseDelayMs: 250,
  maxDelayMs: 30_000,
  defaultRetryAfterMs: 1_000,
  maxRetryAfterMs: 60_000,
});

export type RetryReason = 'rate_limited' | 'server_error' | 'network_error';

export type RetryDecision =
  | { readonly retry: true; readonly reason: RetryReason; readonly delayMs: number }
  | { readonly retry: false };

const SERVER_ERRORS: ReadonlySet<number> = new Set([500, 502, 503, 504]);

/**
 * Decides whether to retry after `error` on attempt number `attempt` (1-based). Pure apart from
 * `random` (uniform in [0, 1)), which tests may fix.
 */
export function decideRetry(
  error: unknown,
  attempt: number,
  mode: RetryMode,
  options: RetryOptions,
  random: () => number = Math.random,
): RetryDecision {
  if (attempt >= options.maxAttempts) return { retry: false };
  const reason = classify(error);
  if (reason === undefined || !allowed(mode, reason, error)) return { retry: false };
  switch (reason) {
    case 'rate_limited': {
      const requested = error instanceof MatrixHttpError ? error.retryAfterMs : undefined;
      const delayMs = Math.min(requested ?? options.defaultRetryAfterMs, options.maxRetryAfterMs);
      return { retry: true, reason, delayMs: Math.max(0, delayMs) };
    }
    case 'server_error':
    case 'network_error':
      return { retry: true, reason, delayMs: backoffDelay(attempt, options, random) };
  }
}

/** Equal-jitter exponential backoff for retry number `attempt` (1 = first retry). */
export function backoffDelay(attempt: number, options: RetryOptions, random: () => number): number {
  const ceiling = options.baseDelayMs * 2 ** Math.max(0, attempt - 1);
  return Math.round(Math.min(options.maxDelayMs, ceiling / 2 + (random() * ceiling) / 2));
}

function classify(error: unknown): RetryReason | undefined {
  if (error instanceof MatrixNetworkError) return 'network_error';
  if (error instanceof MatrixHttpError) {
    if (error.status === 429) return 'rate_limited';
    if (SERVER_ERRORS.has(error.status)) return 'server_error';
  }
  return undefined;
}

function allowed(mode: RetryMode, reason: RetryReason, error: unknown): boolean {
  switch (mode) {
    case 'idempotent':
      return true;
    case 'never':
      return false;
    case 'throttle_only':
      switch (reason) {
        case 'rate_limited':
          return true;
        case 'server_error':
          return false;
        case 'network_error':
          return error instanceof MatrixNetworkError && error.delivery === 'not_sent';
      }
  }
}

export interface RetryContext {
  mode: RetryMode;
  options: RetryOptions;
  sleep: (ms: number) => Promise<void>;
  logger: Logger;
  random?: () => number;
  /** Identifies the request in log lines; `path` must already be free of its query string. */
  method: HttpMethod;
  path: string;
}

/**
 * Runs `attempt` until it succeeds or `decideRetry` says stop, then rethrows the last error.
 * Each retry is logged at warn with method, path, status, errcode, attempt and delay.
 */
export async function withRetry<T>(
  ctx: RetryContext,
  attempt: (attemptNo: number) => Promise<T>,
): Promise<T> {
  for (let attemptNo = 1; ; attemptNo++) {
    try {
      return await attempt(attemptNo);
    } catch (error) {
      const decision = decideRetry(error, attemptNo, ctx.mode, ctx.options, ctx.random);
      if (!decision.retry) throw error;
      ctx.logger.warn(
        {
          method: ctx.method,
          path: ctx.path,
          status: error instanceof MatrixHttpError ? error.status : undefined,
          errcode: error instanceof MatrixHttpError ? error.errcode : undefined,
          reason: decision.reason,
          attempt: attemptNo,
          maxAttempts: ctx.options.maxAttempts,
          delayMs: decision.delayMs,
        },
        'homeserver request failed; retrying',
      );
      await ctx.sleep(decision.delayMs);
    }
  }
}
