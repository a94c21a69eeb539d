/**
 * The request layer under every API area of `MatrixClient` (client.ts): URL and query building,
 * the bearer token, JSON and byte bodies, per-attempt timeouts, retries (retry.ts) and error
 * mapping (client-errors.ts). The API-area classes extend it and add one method per endpoint.
 */
import { silentLogger, type Logger } from '../logger.js';
import {
  MatrixHttpError,
  MatrixNetworkError,
  isStatus,
  parseRetryAfter,
  type HttpMethod,
} from './client-errors.js';
import { badResponse, field, parseJson } from './client-response.js';
import { DEFAULT_RETRY_OPTIONS, withRetry, type RetryMode, type RetryOptions } from './retry.js';

export interface MatrixClientOptions {
  /** Client-server base URL, e.g. `http://127.0.0.1:8008` (no trailing path). */
  baseUrl: string;
  /** The registration's `as_token`. Never logged, never put in a URL. */
  asToken: string;
  /** The homeserver's server name; learned from `whoami` on first need when omitted. */
  serverName?: string;
  /** Injectable for tests; defaults to the global `fetch`. */
  fetch?: typeof fetch;
  logger?: Logger;
  retry?: Partial<RetryOptions>;
  /** Injectable for tests; defaults to a `setTimeout` promise. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1); injectable for deterministic tests. */
  random?: () => number;
  /** Per-attempt timeout including the response body; default 5 minutes (large uploads). */
  requestTimeoutMs?: number;
}

/**
 * Upload body. A `Uint8Array` or a factory returning a fresh stream can be re-sent and is
 * retried like an idempotent request; a bare one-shot stream (e.g. `fs.createReadStream`) is
 * consumed by the first attempt and therefore never retried.
 */
export type UploadBody = Uint8Array | AsyncIterable<Uint8Array> | (() => AsyncIterable<Uint8Array>);

export type Query = Record<string, string | number | undefined>;

type RequestBody =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'bytes'; contentType: string; size: number; source: UploadBody };

export interface RequestSpec {
  method: HttpMethod;
  /** Already encoded (built with `encodePath`), without a query string. */
  path: string;
  query?: Query;
  body?: RequestBody;
  retry: RetryMode;
  /** Bearer token override (admin API); the AS token otherwise. */
  token?: string;
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Template tag that percent-encodes every interpolated path segment. */
export function encodePath(strings: TemplateStringsArray, ...segments: string[]): string {
  let out = strings[0] ?? '';
  segments.forEach((segment, i) => {
    out += encodeURIComponent(segment) + (strings[i + 1] ?? '');
  });
  return out;
}

export const CS = '/_matrix/client/v3';

export class MatrixTransport {
  readonly baseUrl: string;
  readonly #asToken: string;
  readonly #fetch: typeof fetch;
  readonly #logger: Logger;
  readonly #retry: RetryOptions;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #timeoutMs: number;
  /** From the options, or learned from `whoami` (client-server-info.ts). */
  protected knownServerName: string | undefined;

  constructor(options: MatrixClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#asToken = options.asToken;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#logger = options.logger ?? silentLogger;
    this.#retry = { ...DEFAULT_RETRY_OPTIONS, ...options.retry };
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    this.#timeoutMs = options.requestTimeoutMs ?? 300_000;
    this.knownServerName = options.serverName;
  }

  /** `request`, with 404 `M_NOT_FOUND` as `undefined`. */
  protected async requestOrNotFound(spec: RequestSpec): Promise<unknown> {
    try {
      return await this.request(spec);
    } catch (error) {
      if (isStatus(error, 404, 'M_NOT_FOUND')) return undefined;
      throw error;
    }
  }

  /** Sends `spec` under its retry mode; resolves to the parsed JSON body of a 2xx. */
  protected request(spec: RequestSpec): Promise<unknown> {
    return withRetry(
      {
        mode: spec.retry,
        options: this.#retry,
        sleep: this.#sleep,
        logger: this.#logger,
        random: this.#random,
        method: spec.method,
        path: spec.path,
      },
      () => this.#attempt(spec),
    );
  }

  async #attempt(spec: RequestSpec): Promise<unknown> {
    const url = new URL(this.baseUrl + spec.path);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const started = Date.now();
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, this.#init(spec));
      text = await response.text();
    } catch (cause) {
      throw new MatrixNetworkError({ method: spec.method, path: spec.path, cause });
    }
    this.#logger.debug(
      { method: spec.method, path: spec.path, status: response.status, ms: Date.now() - started },
      'homeserver request',
    );
    const json = parseJson(text);
    if (response.ok) {
      if (json === undefined) throw badResponse(spec, 'body is not JSON');
      return json;
    }
    throw httpError(spec, response, json, text);
  }

  /** Method, headers (the token, the body's type and length), body and timeout of one attempt. */
  #init(spec: RequestSpec): RequestInit & { duplex?: 'half' } {
    const headers: Record<string, string> = {
      authorization: `Bearer ${spec.token ?? this.#asToken}`,
      accept: 'application/json',
    };
    const init: RequestInit & { duplex?: 'half' } = {
      method: spec.method,
      headers,
      signal: AbortSignal.timeout(this.#timeoutMs),
    };
    const body = spec.body ?? { kind: 'none' };
    switch (body.kind) {
      case 'none':
        break;
      case 'json':
        headers['content-type'] = 'application/json';
        init.body = JSON.stringify(body.value);
        break;
      case 'bytes': {
        headers['content-type'] = body.contentType;
        headers['content-length'] = String(body.size);
        const source = typeof body.source === 'function' ? body.source() : body.source;
        init.body = source;
        if (!(source instanceof Uint8Array)) init.duplex = 'half';
        break;
      }
    }
    return init;
  }
}

/** A non-2xx answer, with the homeserver's errcode, text and retry delay when it gave them. */
function httpError(
  spec: RequestSpec,
  response: Response,
  json: unknown,
  text: string,
): MatrixHttpError {
  const errcode = field(json, 'errcode');
  const error = field(json, 'error');
  const retryAfterBody = field(json, 'retry_after_ms');
  return new MatrixHttpError({
    method: spec.method,
    path: spec.path,
    status: response.status,
    errcode: typeof errcode === 'string' ? errcode : undefined,
    errorText:
      typeof error === 'string' ? error : json === undefined ? text.slice(0, 200) : undefined,
    retryAfterMs:
      typeof retryAfterBody === 'number'
        ? retryAfterBody
        : parseRetryAfter(response.headers.get('retry-after'), Date.now()),
  });
}
