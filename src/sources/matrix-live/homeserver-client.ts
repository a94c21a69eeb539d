/**
 * The client-server API as the live Matrix source uses it: JSON GETs with the user's access
 * token, rate limits waited out, transient failures retried, and media downloads through
 * authenticated media.
 *
 * Contract:
 * - The token goes only into the `Authorization` header. It never appears in a log line, an
 *   error message or a returned value; URLs in errors are path-only (no query string).
 * - `get` resolves `{ok: true, data}`, or `{ok: false, status, errcode}` for answers about one
 *   object (403 `M_FORBIDDEN` for a room the user may not read, 404 `M_NOT_FOUND`, …) that the
 *   caller counts. It throws:
 *   - `config_invalid` "the homeserver rejected the access token (<errcode>)" on 401
 *     (`M_UNKNOWN_TOKEN`, `M_MISSING_TOKEN`): nothing can be read with it;
 *   - `homeserver_error` (retryable; exit 3) for network failures and 5xx that outlast the
 *     retries.
 * - 429 answers wait `retry_after_ms` (body) or `Retry-After` (header, seconds), else a backoff,
 *   and are counted in `rateLimited`; they never count as a failed attempt.
 * - Media: `/_matrix/client/v1/media/download/{server}/{id}` (authenticated media, Matrix 1.11)
 *   first; a server without it (404/400 `M_UNRECOGNIZED`, or 405) is asked once on the legacy
 *   `/_matrix/media/v3/download` path, and every later download goes there directly.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { obj, str, type JsonObject } from '../matrix-events/index.js';

export type HomeserverResult =
  /** `array`: the body when it is a JSON array (`/state`), `data` then `{}`. */
  | { ok: true; data: JsonObject; array?: unknown[] }
  | { ok: false; status: number; errcode: string };

export type MediaResult =
  { ok: true; bytes: Buffer } | { ok: false; status: number; errcode: string };

export interface HomeserverClientOptions {
  /** Base URL without a trailing slash (`https://matrix.example.org`). */
  baseUrl: string;
  token: string;
  logger: Logger;
  /** Attempts for network errors and 5xx (default 5); 429s are waited out up to `maxWaits`. */
  attempts?: number;
  maxWaits?: number;
  /** Longest single wait for a 429 (default 60 s). */
  maxWaitMs?: number;
  timeoutMs?: number;
}

const CS = '/_matrix/client/v3';

export class HomeserverClient {
  readonly requests: Record<string, number> = {};
  rateLimited = 0;
  #legacyMedia = false;
  readonly #o: HomeserverClientOptions;

  constructor(o: HomeserverClientOptions) {
    this.#o = o;
  }

  /** `GET /_matrix/client/v3<path>` (or `path` as is when it starts with `/_matrix`). */
  async get(
    area: string,
    path: string,
    query: Record<string, string | undefined> = {},
  ): Promise<HomeserverResult> {
    const url = this.#url(path.startsWith('/_matrix') ? path : `${CS}${path}`, query);
    const res = await this.#fetch(area, url);
    const body = await res.text();
    const parsed = safeJson(body);
    const json = obj(parsed) ?? {};
    if (res.ok)
      return { ok: true, data: json, ...(Array.isArray(parsed) ? { array: parsed } : {}) };
    return { ok: false, status: res.status, errcode: str(json.errcode) ?? `HTTP_${res.status}` };
  }

  /** The body of `mxc://server/id`, through authenticated media when the server has it. */
  async download(server: string, mediaId: string): Promise<MediaResult> {
    const tail = `${encodeURIComponent(server)}/${encodeURIComponent(mediaId)}`;
    if (!this.#legacyMedia) {
      const res = await this.#fetch(
        'media',
        this.#url(`/_matrix/client/v1/media/download/${tail}`),
      );
      if (res.ok) return { ok: true, bytes: Buffer.from(await res.arrayBuffer()) };
      const errcode = await errcodeOf(res);
      if (!unrecognised(res.status, errcode)) return { ok: false, status: res.status, errcode };
      this.#legacyMedia = true;
      this.#o.logger.info(
        { status: res.status },
        'no authenticated media: using /_matrix/media/v3',
      );
    }
    const res = await this.#fetch('media', this.#url(`/_matrix/media/v3/download/${tail}`));
    if (res.ok) return { ok: true, bytes: Buffer.from(await res.arrayBuffer()) };
    return { ok: false, status: res.status, errcode: await errcodeOf(res) };
  }

  #url(path: string, query: Record<string, string | undefined> = {}): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
    const search = q.toString();
    return `${this.#o.baseUrl}${path}${search === '' ? '' : `?${search}`}`;
  }

  /** One request with its retries; a 401 throws, any other answer is returned. */
  async #fetch(area: string, url: string): Promise<Response> {
    const attempts = this.#o.attempts ?? 5;
    const path = new URL(url).pathname;
    let failures = 0;
    let waits = 0;
    for (;;) {
      this.requests[area] = (this.requests[area] ?? 0) + 1;
      let res: Response;
      try {
        res = await fetch(url, {
          headers: { Authorization: `Bearer ${this.#o.token}` },
          signal: AbortSignal.timeout(this.#o.timeoutMs ?? 60_000),
        });
      } catch (e) {
        if (++failures >= attempts) throw this.#unreachable(path, e);
        await sleep(backoff(failures));
        continue;
      }
      if (res.status === 401) throw await tokenRejected(res);
      if (res.status === 429 && waits < (this.#o.maxWaits ?? 20)) {
        waits += 1;
        this.rateLimited += 1;
        const ms = Math.min(await retryAfterMs(res), this.#o.maxWaitMs ?? 60_000);
        this.#o.logger.debug({ path, ms }, 'rate limited: waiting');
        await sleep(ms);
        continue;
      }
      if (res.status >= 500 && ++failures < attempts) {
        await res.body?.cancel();
        await sleep(backoff(failures));
        continue;
      }
      if (res.status >= 500 || res.status === 429) {
        await res.body?.cancel();
        throw new FerryError(
          'homeserver_error',
          `homeserver: GET ${path} failed (HTTP ${res.status})`,
          {
            retryable: true,
          },
        );
      }
      return res;
    }
  }

  #unreachable(path: string, e: unknown): FerryError {
    const message = e instanceof Error ? e.message : String(e);
    const clean = message.split(this.#o.token).join('REDACTED');
    return new FerryError(
      'homeserver_error',
      `cannot reach the homeserver for GET ${path}: ${clean}`,
      {
        retryable: true,
      },
    );
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

async function errcodeOf(res: Response): Promise<string> {
  const json = obj(safeJson(await res.text()));
  return str(json?.errcode) ?? `HTTP_${res.status}`;
}

function unrecognised(status: number, errcode: string): boolean {
  return status === 405 || ((status === 404 || status === 400) && errcode === 'M_UNRECOGNIZED');
}

async function tokenRejected(res: Response): Promise<FerryError> {
  const errcode = await errcodeOf(res);
  return new FerryError('config_invalid', `the homeserver rejected the access token (${errcode})`);
}

/** `retry_after_ms` from the body, else `Retry-After` (seconds), else one second. */
async function retryAfterMs(res: Response): Promise<number> {
  const header = Number(res.headers.get('retry-after'));
  const json = obj(safeJson(await res.text()));
  const ms = json?.retry_after_ms;
  if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) return ms;
  if (Number.isFinite(header) && header >= 0) return header * 1000;
  return 1000;
}

const backoff = (failures: number): number => Math.min(500 * 2 ** (failures - 1), 8000);
