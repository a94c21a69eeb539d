/**
 * A stand-in for the Slack Web API, for tests of `ferry enrich slack` and of authenticated file
 * downloads. It speaks HTTP on 127.0.0.1 (port 0), so `@slack/web-api`'s `WebClient` runs its
 * real request, pagination, retry and error paths against it (`slackApiUrl: fake.apiUrl`).
 *
 * Modelled, following Slack's documented behaviour:
 * - Methods are `POST|GET /api/<method>`; arguments come from the query string, a
 *   form-encoded or a JSON body. The token is `Authorization: Bearer <token>` (or a `token`
 *   argument). Missing → `{ok:false, error:'not_authed'}`, wrong → `invalid_auth`, both with
 *   HTTP 200 like Slack.
 * - `auth.test` → `{ok, url, team, user, team_id, user_id}`.
 * - `users.list` with `limit` (default 200) and an opaque `cursor`; `response_metadata.next_cursor`
 *   is `''` on the last page.
 * - An org-wide Grid install (`org`): `auth.test` reports the org's `E…` ID as `team_id` with
 *   `enterprise_id` and `is_enterprise_install: true`; `auth.teams.list` pages through the
 *   approved workspaces; `users.list` without `team_id` fails with `missing_argument` (as real
 *   org-level tokens do) and with one lists that workspace's users (by their `team_id`).
 * - `emoji.list` → `{ok, emoji: {name: url | 'alias:<name>'}}`.
 * - Files at `/files-pri/<path>`: 401 without the right bearer token, else the bytes.
 *   Anything under `/public/<path>` is served without a token (emoji images, avatars).
 * - Rate limiting on demand: `rateLimitNext(n, retryAfterSeconds)` answers the next `n` API
 *   calls with 429 and `Retry-After`.
 * - `failNext(n)` destroys the next `n` API connections (network error).
 *
 * Every request is recorded (`requests`) with method, path, arguments and whether the token
 * was right; the token itself is not recorded.
 *
 * NOT modelled: scopes, `team_id` on methods other than `users.list`, `include_locale`, other methods
 * (→ `unknown_method`), per-method rate tiers.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSlackUser {
  id: string;
  name?: string;
  real_name?: string;
  deleted?: boolean;
  is_bot?: boolean;
  team_id?: string;
  profile?: { email?: string; real_name?: string; display_name?: string };
}

export interface FakeSlackRequest {
  /** HTTP method. */
  method: string;
  /** Path without the query string (e.g. `/api/users.list`). */
  path: string;
  /** API arguments (query + body), `token` removed. */
  args: Record<string, string>;
  /** The request carried the right token. */
  authorized: boolean;
  /** HTTP status answered. */
  status: number;
}

export interface FakeSlackOptions {
  token: string;
  teamId?: string;
  teamName?: string;
  /** The token is an org-wide install of this org (`teamId` is ignored). */
  org?: { enterpriseId: string; workspaces: { id: string; name: string }[] };
  users?: FakeSlackUser[];
  emoji?: Record<string, string>;
  /** Path under `/files-pri/` → bytes. */
  files?: Record<string, Buffer>;
  /** Path under `/public/` → bytes. */
  publicFiles?: Record<string, Buffer>;
}

export class FakeSlackApi {
  readonly requests: FakeSlackRequest[] = [];
  users: FakeSlackUser[];
  emoji: Record<string, string>;
  readonly #opts: FakeSlackOptions;
  readonly #server: http.Server;
  #rateLimited = 0;
  #retryAfter = 0;
  #failing = 0;
  #baseUrl = '';

  constructor(opts: FakeSlackOptions) {
    this.#opts = opts;
    this.users = opts.users ?? [];
    this.emoji = opts.emoji ?? {};
    this.#server = http.createServer((req, res) => {
      void this.#handle(req, res);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.#baseUrl = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Origin of the server, e.g. `http://127.0.0.1:40123`. */
  get baseUrl(): string {
    return this.#baseUrl;
  }

  /** What to pass as `slackApiUrl` (ends with `/api/`). */
  get apiUrl(): string {
    return `${this.#baseUrl}/api/`;
  }

  /** Answers the next `count` API calls with 429 and `Retry-After: retryAfterSeconds`. */
  rateLimitNext(count: number, retryAfterSeconds = 0): void {
    this.#rateLimited = count;
    this.#retryAfter = retryAfterSeconds;
  }

  /** Destroys the sockets of the next `count` API calls without answering. */
  failNext(count: number): void {
    this.#failing = count;
  }

  /** API calls of one method (e.g. `users.list`). */
  calls(method: string): FakeSlackRequest[] {
    return this.requests.filter((r) => r.path === `/api/${method}`);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    const args: Record<string, string> = Object.fromEntries(url.searchParams);
    Object.assign(args, parseBody(body, req.headers['content-type'] ?? ''));
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? args.token;
    delete args.token;
    const authorized = token === this.#opts.token;
    const record: FakeSlackRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      args,
      authorized,
      status: 200,
    };
    this.requests.push(record);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      const isBuffer = Buffer.isBuffer(payload);
      const bytes = isBuffer ? payload : Buffer.from(JSON.stringify(payload));
      res.writeHead(status, {
        'content-type': isBuffer ? 'application/octet-stream' : 'application/json; charset=utf-8',
        'content-length': String(bytes.length),
        ...headers,
      });
      res.end(bytes);
    };

    if (url.pathname.startsWith('/files-pri/')) {
      const file = this.#opts.files?.[url.pathname.slice('/files-pri/'.length)];
      if (bearer !== this.#opts.token) return send(401, { ok: false, error: 'not_authed' });
      return file === undefined ? send(404, { ok: false }) : send(200, file);
    }
    if (url.pathname.startsWith('/public/')) {
      const file = this.#opts.publicFiles?.[url.pathname.slice('/public/'.length)];
      return file === undefined ? send(404, { ok: false }) : send(200, file);
    }
    if (!url.pathname.startsWith('/api/')) return send(404, { ok: false });

    if (this.#failing > 0) {
      this.#failing -= 1;
      record.status = 0;
      req.socket.destroy();
      return;
    }
    if (this.#rateLimited > 0) {
      this.#rateLimited -= 1;
      return send(
        429,
        { ok: false, error: 'ratelimited' },
        { 'retry-after': String(this.#retryAfter) },
      );
    }
    if (token === undefined || token === '') return send(200, { ok: false, error: 'not_authed' });
    if (!authorized) return send(200, { ok: false, error: 'invalid_auth' });

    const org = this.#opts.org;
    const teamId = org?.enterpriseId ?? this.#opts.teamId ?? 'T01TEAM';
    const limit = Math.max(1, Number.parseInt(args.limit ?? '200', 10) || 200);
    const start = args.cursor === undefined || args.cursor === '' ? 0 : decodeCursor(args.cursor);
    const next = (total: number) => (start + limit < total ? encodeCursor(start + limit) : '');
    switch (url.pathname.slice('/api/'.length)) {
      case 'auth.test':
        return send(200, {
          ok: true,
          url: `https://${this.#opts.teamName ?? 'example'}.slack.com/`,
          team: this.#opts.teamName ?? 'Example',
          user: 'ferry',
          team_id: teamId,
          user_id: 'U0FERRY',
          ...(org === undefined
            ? {}
            : { enterprise_id: org.enterpriseId, is_enterprise_install: true }),
        });
      case 'auth.teams.list': {
        if (org === undefined) return send(200, { ok: false, error: 'not_allowed_token_type' });
        return send(200, {
          ok: true,
          teams: org.workspaces.slice(start, start + limit),
          response_metadata: { next_cursor: next(org.workspaces.length) },
        });
      }
      case 'users.list': {
        if (org !== undefined && (args.team_id ?? '') === '') {
          return send(200, { ok: false, error: 'missing_argument' });
        }
        const users =
          org === undefined ? this.users : this.users.filter((u) => u.team_id === args.team_id);
        return send(200, {
          ok: true,
          members: users.slice(start, start + limit).map((u) => ({ team_id: teamId, ...u })),
          cache_ts: 1700000000,
          response_metadata: { next_cursor: next(users.length) },
        });
      }
      case 'emoji.list':
        return send(200, { ok: true, emoji: this.emoji, cache_ts: 1700000000 });
      default:
        return send(200, { ok: false, error: 'unknown_method' });
    }
  }
}

const encodeCursor = (offset: number): string => Buffer.from(`offset:${offset}`).toString('base64');
const decodeCursor = (cursor: string): number =>
  Number.parseInt(
    Buffer.from(cursor, 'base64')
      .toString()
      .replace(/^offset:/, ''),
    10,
  ) || 0;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(body: string, contentType: string): Record<string, string> {
  if (body === '') return {};
  if (contentType.includes('application/json')) {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  }
  return Object.fromEntries(new URLSearchParams(body));
}
