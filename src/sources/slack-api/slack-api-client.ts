/**
 * The Slack Web API as the adapter uses it: `@slack/web-api`'s `WebClient` (its request,
 * retry and Retry-After handling), paced per method (pacer.ts), with errors sorted into what
 * stops the run and what is only reported.
 *
 * Contract:
 * - The token never appears in a log line, an error or a returned value: WebClient logs go
 *   through `slackLogger` (redacted), and its errors are replaced by `FerryError`s that do not
 *   carry the original (whose request may hold the token).
 * - `call` resolves `{ok: true, data}`, or `{ok: false, error, needed?}` for Slack's answers
 *   about one object (`missing_scope`, `not_in_channel`, `channel_not_found`, …), which the
 *   caller counts and reports. It throws:
 *   - `config_invalid` "Slack rejected the token (<code>)" for token errors;
 *   - `homeserver_error` (retryable; exit 3) for network failures, HTTP errors and rate limits
 *     that outlast the retries.
 * - Every 429 (with its Retry-After) is counted in `rateLimited`; requests by method in
 *   `requests`.
 */
import {
  ErrorCode,
  LogLevel,
  WebClient,
  WebClientEvent,
  type RetryOptions,
  type WebAPICallResult,
} from '@slack/web-api';
import { FerryError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { redactText } from '../../redact.js';
import { slackLogger } from '../slack/enrichment/slack-enricher.js';
import { MethodPacer } from './pacer.js';

export const DEFAULT_SLACK_API_URL = 'https://slack.com/api/';

/** Generous: a Retry-After is waited out many times before the run gives up. */
export const DEFAULT_API_RETRY: RetryOptions = {
  retries: 10,
  factor: 2,
  minTimeout: 1_000,
  maxTimeout: 60_000,
  randomize: true,
};

const TOKEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
]);

export type SlackCallResult =
  { ok: true; data: Record<string, unknown> } | { ok: false; error: string; needed?: string };

export interface SlackApiClientOptions {
  token: string;
  apiUrl?: string;
  logger: Logger;
  pacer: MethodPacer;
  retryConfig?: RetryOptions;
  timeoutMs?: number;
}

export class SlackApiClient {
  readonly requests: Record<string, number> = {};
  rateLimited = 0;
  readonly #client: WebClient;
  readonly #pacer: MethodPacer;
  readonly #token: string;

  constructor(o: SlackApiClientOptions) {
    this.#token = o.token;
    this.#pacer = o.pacer;
    this.#client = new WebClient(o.token, {
      slackApiUrl: o.apiUrl ?? DEFAULT_SLACK_API_URL,
      logger: slackLogger(o.logger, o.token),
      logLevel: LogLevel.DEBUG,
      retryConfig: o.retryConfig ?? DEFAULT_API_RETRY,
      timeout: o.timeoutMs ?? 60_000,
    });
    this.#client.on(WebClientEvent.RATE_LIMITED, () => {
      this.rateLimited += 1;
    });
  }

  get pacer(): MethodPacer {
    return this.#pacer;
  }

  async call(method: string, args: Record<string, unknown> = {}): Promise<SlackCallResult> {
    await this.#pacer.wait(method);
    this.requests[method] = (this.requests[method] ?? 0) + 1;
    try {
      const data: WebAPICallResult = await this.#client.apiCall(method, args);
      return { ok: true, data: data as unknown as Record<string, unknown> };
    } catch (e) {
      const soft = this.#softError(method, e);
      if (soft !== undefined) return soft;
      throw this.#hardError(method, e);
    }
  }

  #softError(method: string, e: unknown): SlackCallResult | undefined {
    const err = e as { code?: unknown; data?: { error?: unknown; needed?: unknown } };
    if (err.code !== ErrorCode.PlatformError) return undefined;
    const code = typeof err.data?.error === 'string' ? err.data.error : 'unknown_error';
    if (TOKEN_ERRORS.has(code)) {
      throw new FerryError('config_invalid', `Slack rejected the token (${code})`);
    }
    void method;
    const needed = typeof err.data?.needed === 'string' ? err.data.needed : undefined;
    return { ok: false, error: code, needed };
  }

  #hardError(method: string, e: unknown): FerryError {
    const err = e as { code?: unknown; statusCode?: unknown };
    let error: FerryError;
    if (err.code === ErrorCode.HTTPError) {
      const status = typeof err.statusCode === 'number' ? ` (HTTP ${err.statusCode})` : '';
      error = new FerryError('homeserver_error', `Slack ${method} failed${status}`, {
        retryable: true,
      });
    } else if (err.code === ErrorCode.RateLimitedError) {
      error = new FerryError('homeserver_error', `Slack ${method}: still rate limited`, {
        retryable: true,
      });
    } else {
      const message = e instanceof Error ? e.message : String(e);
      error = new FerryError(
        'homeserver_error',
        `cannot reach the Slack API for ${method}: ${redactText(message)}`,
        { retryable: true },
      );
    }
    if (!error.message.includes(this.#token)) return error;
    return new FerryError(error.code, error.message.split(this.#token).join('REDACTED'), {
      retryable: true,
    });
  }
}
