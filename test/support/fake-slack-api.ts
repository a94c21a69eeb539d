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
 *   `emoji.list` without `team_id` fails the same way.
 * - A workspace token of a Grid org (`enterpriseId` with `teamId`): `auth.test` reports the
 *   workspace's `T…` ID and the org's `enterprise_id`, `is_enterprise_install: false`.
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
 * - `team.info` → `{ok, team: {id, name, domain}}`.
 * - Conversations (`conversations`, each with the `type` it is listed under): `conversations.list`
 *   filters by `types` (comma-separated) and `exclude_archived`, pages with `limit`/`cursor`;
 *   `conversations.members` pages through `members`.
 * - `conversations.history` (`messages` by channel): top-level messages and broadcast replies
 *   only, newest first; `latest` (default now) and `oldest` (default 0) bound them, exclusive
 *   unless `inclusive`; as on Slack, with `oldest` but no `latest` the page holds the messages
 *   closest to `oldest`. `has_more` and `response_metadata.next_cursor` page on. With
 *   `limitedApp` every page is cut at 15 messages (the non-Marketplace app limit).
 * - `conversations.replies` (`ts` of the root): the root first, then its replies in order,
 *   paged like the history.
 * - `pins.list` → `{ok, items: [{type: 'message', created, created_by, channel, message}]}`.
 * - Errors on demand: `unreadable[channel] = 'not_in_channel' | 'channel_not_found' | …` for
 *   history/replies/members/pins of that channel; `missingScopes[method] = scope` (or
 *   `conversations.list:<type>`) → `{ok: false, error: 'missing_scope', needed}`.
 * - `delayMs`: every API answer waits this long (a slow link, for kill -9 tests); `pageCap`
 *   cuts history/replies pages shorter than `limit` (Slack may); `failAfterHistoryCalls`
 *   answers HTTP 500 to everything after that many history calls (a crash mid-fetch).
 *
 * NOT modelled: scope checks beyond `missingScopes`, `team_id` on methods other than
 * `users.list` and `emoji.list` (recorded, not checked, for workspace tokens), `include_locale`, other methods (→ `unknown_method`), per-method rate tiers.
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

/** A conversation as conversations.list returns it, and the listing it belongs to. */
export interface FakeSlackConversation {
  type: 'public_channel' | 'private_channel' | 'mpim' | 'im';
  /** The conversation object (`id`, `name`, `is_archived`, …), without `members`. */
  info: Record<string, unknown> & { id: string; is_archived?: boolean };
  members: string[];
  pins?: { ts: string; user?: string; created?: number }[];
}

export type FakeSlackMessage = Record<string, unknown> & { ts: string };

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
  /** A workspace token of this Grid org (with `teamId`): auth.test reports `enterprise_id`. */
  enterpriseId?: string;
  /** The token is an org-wide install of this org (`teamId` is ignored). */
  org?: { enterpriseId: string; workspaces: { id: string; name: string }[] };
  users?: FakeSlackUser[];
  emoji?: Record<string, string>;
  /** Path under `/files-pri/` → bytes. */
  files?: Record<string, Buffer>;
  /** Path under `/public/` → bytes. */
  publicFiles?: Record<string, Buffer>;
  conversations?: FakeSlackConversation[];
  /** Channel ID → every message of it (top level and replies), any order. */
  messages?: Record<string, FakeSlackMessage[]>;
}

export class FakeSlackApi {
  readonly requests: FakeSlackRequest[] = [];
  users: FakeSlackUser[];
  emoji: Record<string, string>;
  conversations: FakeSlackConversation[];
  messages: Record<string, FakeSlackMessage[]>;
  /** Channel ID → error code its history/replies/members/pins answer. */
  unreadable: Record<string, string> = {};
  /** Method (or `conversations.list:<type>`) → the scope it lacks. */
  missingScopes: Record<string, string> = {};
  /** Cut history/replies pages at 15 (non-Marketplace apps). */
  limitedApp = false;
  /** Delay of every API answer, ms. */
  delayMs = 0;
  /** History/replies pages hold at most this many messages (Slack may return fewer than `limit`). */
  pageCap = Infinity;
  /** After this many conversations.history calls every API call answers HTTP 500. */
  failAfterHistoryCalls = Infinity;
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
    this.conversations = opts.conversations ?? [];
    this.messages = opts.messages ?? {};
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
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.calls('conversations.history').length > this.failAfterHistoryCalls)
      return send(500, { ok: false, error: 'fatal_error' });

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
          ...(org !== undefined
            ? { enterprise_id: org.enterpriseId, is_enterprise_install: true }
            : this.#opts.enterpriseId !== undefined
              ? { enterprise_id: this.#opts.enterpriseId, is_enterprise_install: false }
              : {}),
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
        if (org !== undefined && (args.team_id ?? '') === '') {
          return send(200, { ok: false, error: 'missing_argument' });
        }
        if (this.missingScopes['emoji.list'] !== undefined)
          return send(200, missingScope(this.missingScopes['emoji.list']));
        return send(200, { ok: true, emoji: this.emoji, cache_ts: 1700000000 });
      case 'team.info':
        return send(200, {
          ok: true,
          team: { id: teamId, name: this.#opts.teamName ?? 'Example', domain: 'example' },
        });
      default:
        return send(200, this.#conversationMethod(url.pathname.slice('/api/'.length), args));
    }
  }

  /** conversations.*, pins.list. */
  #conversationMethod(method: string, args: Record<string, string>): unknown {
    const needed = this.missingScopes[method];
    if (needed !== undefined) return missingScope(needed);
    const limit = Math.max(1, Number.parseInt(args.limit ?? '100', 10) || 100);
    const start = args.cursor === undefined || args.cursor === '' ? 0 : decodeCursor(args.cursor);
    const page = <T>(all: T[], max = limit) => {
      const items = all.slice(start, start + max);
      const more = start + max < all.length;
      return { items, more, next_cursor: more ? encodeCursor(start + max) : '' };
    };
    if (method === 'conversations.list') {
      const types = (args.types ?? 'public_channel').split(',').map((t) => t.trim());
      for (const t of types) {
        const scope = this.missingScopes[`conversations.list:${t}`];
        if (scope !== undefined) return missingScope(scope);
      }
      const all = this.conversations
        .filter((c) => types.includes(c.type))
        .filter((c) => args.exclude_archived !== 'true' || c.info.is_archived !== true)
        .map((c) => c.info);
      const p = page(all);
      return { ok: true, channels: p.items, response_metadata: { next_cursor: p.next_cursor } };
    }
    const channel = args.channel ?? '';
    const conversation = this.conversations.find((c) => c.info.id === channel);
    if (conversation === undefined) return { ok: false, error: 'channel_not_found' };
    const refused = this.unreadable[channel];
    if (refused !== undefined) return { ok: false, error: refused };
    const messages = [...(this.messages[channel] ?? [])].sort((a, b) => tsCompare(a.ts, b.ts));
    const cut = Math.min(this.limitedApp ? Math.min(limit, 15) : limit, this.pageCap);
    switch (method) {
      case 'conversations.members': {
        const p = page(conversation.members);
        return { ok: true, members: p.items, response_metadata: { next_cursor: p.next_cursor } };
      }
      case 'pins.list':
        return {
          ok: true,
          items: (conversation.pins ?? []).map((pin) => ({
            type: 'message',
            created: pin.created,
            created_by: pin.user,
            channel,
            message: messages.find((m) => m.ts === pin.ts) ?? { ts: pin.ts },
          })),
        };
      case 'conversations.history': {
        const inclusive = args.inclusive === 'true' || args.inclusive === '1';
        const latest = args.latest;
        const oldest = args.oldest ?? '0';
        const inRange = messages.filter((m) => {
          const isReply =
            m.thread_ts !== undefined && m.thread_ts !== m.ts && m.subtype !== 'thread_broadcast';
          if (isReply) return false;
          const aboveOldest = inclusive
            ? tsCompare(m.ts, oldest) >= 0
            : tsCompare(m.ts, oldest) > 0;
          const belowLatest =
            latest === undefined ||
            (inclusive ? tsCompare(m.ts, latest) <= 0 : tsCompare(m.ts, latest) < 0);
          return aboveOldest && belowLatest;
        });
        // Slack: with `oldest` alone the page is the messages closest to `oldest`.
        const ordered =
          latest === undefined && args.oldest !== undefined ? inRange : [...inRange].reverse();
        const p = page(ordered, cut);
        const items =
          latest === undefined && args.oldest !== undefined ? [...p.items].reverse() : p.items;
        return {
          ok: true,
          messages: items,
          has_more: p.more,
          pin_count: conversation.pins?.length ?? 0,
          response_metadata: { next_cursor: p.next_cursor },
        };
      }
      case 'conversations.replies': {
        const ts = args.ts ?? '';
        const root = messages.find((m) => m.ts === ts);
        if (root === undefined) return { ok: false, error: 'thread_not_found' };
        const thread = [root, ...messages.filter((m) => m.thread_ts === ts && m.ts !== ts)];
        const p = page(thread, cut);
        return {
          ok: true,
          messages: p.items,
          has_more: p.more,
          response_metadata: { next_cursor: p.next_cursor },
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}

function missingScope(needed: string): unknown {
  return { ok: false, error: 'missing_scope', needed, provided: 'identify' };
}

function tsCompare(a: string, b: string): number {
  const [as = '0', af = ''] = a.split('.');
  const [bs = '0', bf = ''] = b.split('.');
  const am = BigInt(as) * 1_000_000n + BigInt(af.padEnd(6, '0').slice(0, 6) || '0');
  const bm = BigInt(bs) * 1_000_000n + BigInt(bf.padEnd(6, '0').slice(0, 6) || '0');
  return am < bm ? -1 : am > bm ? 1 : 0;
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
