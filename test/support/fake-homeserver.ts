/**
 * An in-process fake Matrix homeserver for unit tests and fault injection (matrix-import.md
 * §9.1). It speaks the client-server API over real HTTP on 127.0.0.1 (port 0), so the client
 * under test runs its real `fetch`, encoding and error paths. Integration tests use a real
 * Synapse; this fake exists for what Synapse cannot do on demand: 429s, 5xx, lost responses.
 *
 * Modelled, following Synapse (see matrix-import.md):
 * - AS auth: `Authorization: Bearer` (or `?access_token=`); missing → 401 M_MISSING_TOKEN,
 *   wrong → 401 M_UNKNOWN_TOKEN. `?user_id=` masquerades; the user must be the AS sender or
 *   match `userNamespace` (403) and be registered (403). The AS sender needs no registration.
 * - `/register` (`m.login.application_service`, `inhibit_login: true` required here),
 *   `M_USER_IN_USE`, `M_EXCLUSIVE` outside the namespace, `M_INVALID_USERNAME` for localparts
 *   outside the spec grammar (stricter than Synapse, which does not check AS localparts).
 * - Profiles; a change re-sends the member event, stamped "now", in every joined room (§2.4).
 * - `createRoom`: the spec's event order, presets, `initial_state`, `power_level_content_override`
 *   (v1–11: a `users` map must include the creator), `creation_content`, `invite` with
 *   `is_direct`, `room_alias_name` (duplicate → 400 M_ROOM_IN_USE, `:` → 400).
 * - Membership: join needs `public` join rules, an invite, or (restricted) membership of an
 *   allowed room; invite needs a joined inviter; `/send` and non-member state need the sender
 *   joined (403). Joins fill displayname/avatar from the profile.
 * - `ts` sets `origin_server_ts` on `/send` and `/state` (negative/garbage → 400); events are
 *   appended in arrival order whatever their `ts`.
 * - Txn dedupe: successful `/send` responses are cached by raw request path (still
 *   percent-encoded, no query string), so `user_id` and `ts` are ignored and `!` ≠ `%21`,
 *   exactly like Synapse's `HttpTransactionCache`. Errors are not cached. No expiry; call
 *   `clearTxnCache()` to simulate a Synapse restart.
 * - Identical state replays (same sender and content) return the existing event.
 * - Relations: unknown target → 400, other room → 400, thread root with a relation → 400,
 *   duplicate annotation (sender, type, key, target) → 400 M_DUPLICATE_ANNOTATION.
 * - Event size: serialised event + an estimated 512 bytes of PDU overhead (hashes,
 *   signatures, prev/auth events) must be ≤ 65536, else 413 M_TOO_LARGE.
 * - `/messages` with `dir`, `from`, `limit` and a `types`/`not_types`/`senders`/`not_senders`
 *   filter; tokens are opaque `p<position>`; `end` is omitted at either edge.
 * - Upload needs `Content-Length` (400 without), `maxUploadBytes` (413 M_TOO_LARGE), returns
 *   `mxc://<server>/<id>`; authenticated download at `/_matrix/client/v1/media/download`.
 *
 * NOT modelled: power levels and the rest of the auth rules (any joined user may send any
 * state), redactions, room versions other than as an opaque string, v12 room IDs, federation,
 * `/sync`, receipts beyond storing read markers, device IDs and the durable txn table,
 * txn-cache expiry, rate limiting other than injected faults, alias namespaces, the user
 * directory, the admin API beyond `server_version`, room details and forward extremities,
 * visibility of history to users who left, and request body limits other than uploads.
 */

import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  ClientEvent,
  EventId,
  JsonObject,
  MxcUri,
  RoomId,
  UserId,
} from '../../src/matrix/types.js';

export type FakeMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface FakeHomeserverOptions {
  serverName?: string;
  asToken?: string;
  /** Token accepted by the `/_synapse/admin` endpoints; admin calls are refused without it. */
  adminToken?: string;
  senderLocalpart?: string;
  /** AS user namespace, matched against full user IDs; default `^@.*:<serverName>$`. */
  userNamespace?: RegExp;
  maxUploadBytes?: number;
  /** Clock for "now" timestamps (creation events, joins, profile propagation). */
  now?: () => number;
}

/** `connection_reset` destroys the socket instead of answering: a network error for the client. */
export type FaultStatus = 429 | 500 | 502 | 503 | 504 | 'connection_reset';

export interface FaultSpec {
  status: FaultStatus;
  /** Sent as `retry_after_ms` in the 429 body. */
  retryAfterMs?: number;
  /** Sent verbatim as the `Retry-After` header. */
  retryAfterHeader?: string;
  /** Which requests the fault applies to; `path` is the raw path without query. Default: all. */
  match?: (method: FakeMethod, path: string) => boolean;
  /**
   * Apply the request (events are persisted, txn cache filled) but answer with the fault
   * anyway: a response lost after the server acted.
   */
  afterProcessing?: boolean;
}

export interface RecordedRequest {
  method: FakeMethod;
  /** Raw (percent-encoded) path without the query string. */
  path: string;
  query: Record<string, string>;
  /** Acting user after auth; undefined if authentication failed or was not needed. */
  userId: UserId | undefined;
  body: unknown;
  /** Status sent; `0` for a reset connection. */
  status: number;
  fault: FaultStatus | undefined;
}

export interface FakeUser {
  userId: UserId;
  displayname: string | undefined;
  avatarUrl: MxcUri | undefined;
  accountData: Map<string, JsonObject>;
}

export interface FakeRoom {
  roomId: RoomId;
  roomVersion: string;
  /** Every event in arrival (DAG) order, state and timeline alike. */
  events: ClientEvent[];
  /** Current state, keyed by `stateKeyOf(type, stateKey)`. */
  state: Map<string, ClientEvent>;
  readMarkers: Map<UserId, { fullyRead: EventId; read: EventId }>;
}

export interface FakeMedia {
  bytes: Buffer;
  contentType: string;
  filename: string | undefined;
  uploader: UserId;
}

export const stateKeyOf = (type: string, stateKey: string): string => `${type}\u0000${stateKey}`;

const MAX_PDU_BYTES = 65_536;
const PDU_OVERHEAD_BYTES = 512;
const LOCALPART = /^[a-z0-9._=\-/+]+$/;

class Failure extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
  ) {
    super(message);
  }
}

interface Reply {
  status: number;
  body: unknown;
}

interface Ctx {
  method: FakeMethod;
  rawPath: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: Buffer;
  user: UserId;
}

type Handler = (ctx: Ctx) => Reply;

interface Route {
  method: FakeMethod;
  parts: string[];
  auth: 'none' | 'as' | 'admin';
  handler: Handler;
}

export class FakeHomeserver {
  readonly serverName: string;
  readonly asToken: string;
  readonly adminToken: string | undefined;
  readonly botUserId: UserId;
  readonly userNamespace: RegExp;
  readonly maxUploadBytes: number;

  readonly users = new Map<UserId, FakeUser>();
  readonly rooms = new Map<RoomId, FakeRoom>();
  readonly aliases = new Map<string, RoomId>();
  readonly media = new Map<string, FakeMedia>();
  readonly requests: RecordedRequest[] = [];

  readonly #now: () => number;
  readonly #txnCache = new Map<string, Reply>();
  readonly #faults: { remaining: number; spec: FaultSpec }[] = [];
  readonly #routes: Route[] = [];
  #server: http.Server | undefined;
  #baseUrl: string | undefined;
  #seq = 0;

  constructor(options: FakeHomeserverOptions = {}) {
    this.serverName = options.serverName ?? 'test.local';
    this.asToken = options.asToken ?? `fake_as_token_${randomBytes(8).toString('hex')}`;
    this.adminToken = options.adminToken;
    this.botUserId = `@${options.senderLocalpart ?? '_import_bot'}:${this.serverName}`;
    this.userNamespace =
      options.userNamespace ?? new RegExp(`^@.*:${this.serverName.replace(/\./g, '\\.')}$`);
    this.maxUploadBytes = options.maxUploadBytes ?? 50 * 1024 * 1024;
    this.#now = options.now ?? Date.now;
    this.#defineRoutes();
  }

  // ---- lifecycle -------------------------------------------------------------------------

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(JSON.stringify({ errcode: 'M_UNKNOWN', error: String(error) }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    this.#server = server;
    this.#baseUrl = `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  }

  get baseUrl(): string {
    if (this.#baseUrl === undefined) throw new Error('FakeHomeserver not started');
    return this.#baseUrl;
  }

  // ---- fault injection and inspection ----------------------------------------------------

  /** The next `n` requests matching `spec.match` fail with `spec.status`. */
  failNext(n: number, spec: FaultSpec): void {
    this.#faults.push({ remaining: n, spec });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** Forgets every cached `/send` transaction, as a Synapse restart would. */
  clearTxnCache(): void {
    this.#txnCache.clear();
  }

  /** The room's events in arrival order (a copy). Throws for an unknown room. */
  eventsIn(roomId: RoomId): ClientEvent[] {
    return [...this.#room(roomId).events];
  }

  /** Current state content, or undefined. */
  stateOf(roomId: RoomId, type: string, stateKey = ''): JsonObject | undefined {
    return this.#room(roomId).state.get(stateKeyOf(type, stateKey))?.content;
  }

  membershipOf(roomId: RoomId, userId: UserId): string | undefined {
    return this.#membership(this.#room(roomId), userId);
  }

  /** Registers a user directly (test setup), as `/register` would. */
  addUser(localpart: string): UserId {
    const userId: UserId = `@${localpart}:${this.serverName}`;
    if (!this.users.has(userId)) {
      this.users.set(userId, {
        userId,
        displayname: localpart,
        avatarUrl: undefined,
        accountData: new Map(),
      });
    }
    return userId;
  }

  // ---- HTTP plumbing ---------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const rawPath = queryAt === -1 ? url : url.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1));
    const method = (req.method ?? 'GET') as FakeMethod;

    const record: RecordedRequest = {
      method,
      path: rawPath,
      query: Object.fromEntries(query),
      userId: undefined,
      body: parseJsonOrUndefined(raw),
      status: 0,
      fault: undefined,
    };
    this.requests.push(record);

    const fault = this.#takeFault(method, rawPath);
    record.fault = fault?.status;
    let reply: Reply | undefined;
    if (fault === undefined || fault.afterProcessing === true) {
      reply = this.#dispatch(method, rawPath, query, req.headers, raw, record);
    }
    if (fault !== undefined) {
      if (fault.status === 'connection_reset') {
        req.socket.destroy();
        return;
      }
      reply = {
        status: fault.status,
        body: {
          errcode: fault.status === 429 ? 'M_LIMIT_EXCEEDED' : 'M_UNKNOWN',
          error: fault.status === 429 ? 'Too Many Requests' : 'Injected fault',
          ...(fault.retryAfterMs === undefined ? {} : { retry_after_ms: fault.retryAfterMs }),
        },
      };
      if (fault.retryAfterHeader !== undefined)
        res.setHeader('retry-after', fault.retryAfterHeader);
    }
    if (reply === undefined) throw new Error('unreachable: no reply');
    record.status = reply.status;
    res.statusCode = reply.status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(reply.body));
  }

  #takeFault(method: FakeMethod, rawPath: string): FaultSpec | undefined {
    for (const fault of this.#faults) {
      if (fault.remaining > 0 && (fault.spec.match?.(method, rawPath) ?? true)) {
        fault.remaining -= 1;
        return fault.spec;
      }
    }
    return undefined;
  }

  #dispatch(
    method: FakeMethod,
    rawPath: string,
    query: URLSearchParams,
    headers: IncomingMessage['headers'],
    raw: Buffer,
    record: RecordedRequest,
  ): Reply {
    try {
      let segments: string[];
      try {
        segments = rawPath.split('/').slice(1).map(decodeURIComponent);
      } catch {
        throw new Failure(400, 'M_UNRECOGNIZED', 'Malformed path encoding');
      }
      let pathMatched = false;
      for (const route of this.#routes) {
        const params = matchParts(route.parts, segments);
        if (params === undefined) continue;
        pathMatched = true;
        if (route.method !== method) continue;
        const user = this.#authenticate(route.auth, headers, query);
        record.userId = route.auth === 'as' ? user : undefined;
        const ctx: Ctx = { method, rawPath, params, query, headers, raw, user };
        const isSend = route.parts.includes('send');
        const cached = isSend ? this.#txnCache.get(rawPath) : undefined;
        if (cached !== undefined) return cached;
        const reply = route.handler(ctx);
        if (isSend && reply.status === 200) this.#txnCache.set(rawPath, reply);
        return reply;
      }
      throw pathMatched
        ? new Failure(405, 'M_UNRECOGNIZED', 'Unrecognized request method')
        : new Failure(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    } catch (error) {
      if (error instanceof Failure) {
        return { status: error.status, body: { errcode: error.errcode, error: error.message } };
      }
      throw error;
    }
  }

  #authenticate(
    auth: Route['auth'],
    headers: IncomingMessage['headers'],
    query: URLSearchParams,
  ): UserId {
    if (auth === 'none') return this.botUserId;
    const header = headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : query.get('access_token');
    if (token === null || token === undefined || token === '') {
      throw new Failure(401, 'M_MISSING_TOKEN', 'Missing access token');
    }
    if (auth === 'admin') {
      if (this.adminToken !== undefined && token === this.adminToken) return this.botUserId;
      if (token === this.asToken)
        throw new Failure(403, 'M_FORBIDDEN', 'You are not a server admin');
      throw new Failure(401, 'M_UNKNOWN_TOKEN', 'Unrecognised access token');
    }
    if (token !== this.asToken)
      throw new Failure(401, 'M_UNKNOWN_TOKEN', 'Unrecognised access token');
    const asUser = query.get('user_id');
    if (asUser === null || asUser === this.botUserId) return this.botUserId;
    if (!this.userNamespace.test(asUser)) {
      throw new Failure(
        403,
        'M_FORBIDDEN',
        `Application service cannot masquerade as this user (${asUser}).`,
      );
    }
    if (!this.users.has(asUser as UserId)) {
      throw new Failure(
        403,
        'M_FORBIDDEN',
        `Application service has not registered this user (${asUser})`,
      );
    }
    return asUser as UserId;
  }

  #on(method: FakeMethod, pattern: string, handler: Handler, auth: Route['auth'] = 'as'): void {
    this.#routes.push({ method, parts: pattern.split('/').slice(1), auth, handler });
  }

  // ---- endpoints -------------------------------------------------------------------------

  #defineRoutes(): void {
    const cs = '/_matrix/client/v3';
    this.#on(
      'GET',
      '/_matrix/client/versions',
      () => ok({ versions: ['v1.11', 'v1.12'], unstable_features: {} }),
      'none',
    );
    this.#on('GET', `${cs}/account/whoami`, (c) => ok({ user_id: c.user, is_guest: false }));
    this.#on('POST', `${cs}/register`, (c) => this.#register(c));
    this.#on('GET', `${cs}/profile/:user`, (c) => this.#getProfile(c));
    this.#on('PUT', `${cs}/profile/:user/:field`, (c) => this.#setProfile(c));
    this.#on('POST', `${cs}/createRoom`, (c) => this.#createRoom(c));
    this.#on('GET', `${cs}/directory/room/:alias`, (c) => this.#getAlias(c));
    this.#on('PUT', `${cs}/directory/room/:alias`, (c) => this.#putAlias(c));
    this.#on('PUT', `${cs}/rooms/:room/send/:type/:txn`, (c) => this.#send(c));
    this.#on('PUT', `${cs}/rooms/:room/state/:type/:key`, (c) => this.#putState(c));
    this.#on('PUT', `${cs}/rooms/:room/state/:type`, (c) => this.#putState(c));
    this.#on('GET', `${cs}/rooms/:room/state/:type/:key`, (c) => this.#getState(c));
    this.#on('GET', `${cs}/rooms/:room/state/:type`, (c) => this.#getState(c));
    this.#on('GET', `${cs}/rooms/:room/state`, (c) => this.#getRoomState(c));
    this.#on('POST', `${cs}/join/:room`, (c) => this.#join(c));
    this.#on('POST', `${cs}/rooms/:room/join`, (c) => this.#join(c));
    this.#on('POST', `${cs}/rooms/:room/invite`, (c) => this.#invite(c));
    this.#on('GET', `${cs}/rooms/:room/messages`, (c) => this.#messages(c));
    this.#on('GET', `${cs}/rooms/:room/members`, (c) => this.#members(c));
    this.#on('POST', `${cs}/rooms/:room/read_markers`, (c) => this.#readMarkers(c));
    this.#on('PUT', `${cs}/user/:user/account_data/:type`, (c) => this.#putAccountData(c));
    this.#on('GET', `${cs}/user/:user/account_data/:type`, (c) => this.#getAccountData(c));
    this.#on('GET', `${cs}/joined_rooms`, (c) => this.#joinedRooms(c));
    for (const v of ['r0', 'v1', 'v3'])
      this.#on('POST', `/_matrix/media/${v}/upload`, (c) => this.#upload(c));
    this.#on('GET', '/_matrix/client/v1/media/download/:server/:media', (c) => this.#download(c));
    this.#on(
      'GET',
      '/_synapse/admin/v1/server_version',
      () => ok({ server_version: 'fake' }),
      'admin',
    );
    this.#on('GET', '/_synapse/admin/v1/rooms/:room', (c) => this.#adminRoom(c), 'admin');
    this.#on(
      'GET',
      '/_synapse/admin/v1/rooms/:room/forward_extremities',
      (c) => {
        const last = this.#roomOr404(param(c, 'room')).events.at(-1);
        return ok({ count: 1, results: last ? [{ event_id: last.event_id }] : [] });
      },
      'admin',
    );
  }

  #register(c: Ctx): Reply {
    const body = jsonBody(c);
    if (body.type !== 'm.login.application_service') {
      throw new Failure(400, 'M_BAD_JSON', 'Only m.login.application_service is supported');
    }
    if (body.inhibit_login !== true) {
      throw new Failure(400, 'M_APPSERVICE_LOGIN_UNSUPPORTED', 'inhibit_login must be true');
    }
    const localpart = body.username;
    if (typeof localpart !== 'string' || !LOCALPART.test(localpart)) {
      throw new Failure(
        400,
        'M_INVALID_USERNAME',
        'User ID can only contain characters a-z, 0-9, or =_-./+',
      );
    }
    const userId: UserId = `@${localpart}:${this.serverName}`;
    if (userId !== this.botUserId && !this.userNamespace.test(userId)) {
      throw new Failure(400, 'M_EXCLUSIVE', "User ID is not in the appservice's namespace");
    }
    if (this.users.has(userId)) throw new Failure(400, 'M_USER_IN_USE', 'User ID already taken.');
    this.addUser(localpart);
    return ok({ user_id: userId });
  }

  #getProfile(c: Ctx): Reply {
    const user = this.users.get(param(c, 'user') as UserId);
    if (user === undefined) throw new Failure(404, 'M_NOT_FOUND', 'Profile was not found');
    return ok({
      ...(user.displayname === undefined ? {} : { displayname: user.displayname }),
      ...(user.avatarUrl === undefined ? {} : { avatar_url: user.avatarUrl }),
    });
  }

  #setProfile(c: Ctx): Reply {
    const target = param(c, 'user') as UserId;
    const fieldName = param(c, 'field');
    if (fieldName !== 'displayname' && fieldName !== 'avatar_url') {
      throw new Failure(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    }
    if (target !== c.user)
      throw new Failure(403, 'M_FORBIDDEN', "Cannot set another user's profile");
    const user = this.users.get(target);
    if (user === undefined) throw new Failure(404, 'M_NOT_FOUND', 'Profile was not found');
    const value = jsonBody(c)[fieldName];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new Failure(400, 'M_BAD_JSON', `${fieldName} must be a string`);
    }
    const next = typeof value === 'string' ? value : undefined;
    const before = fieldName === 'displayname' ? user.displayname : user.avatarUrl;
    if (fieldName === 'displayname') user.displayname = next;
    else user.avatarUrl = next as MxcUri | undefined;
    if (before !== next) {
      // Synapse's _update_join_states: a fresh member event, stamped now, in every joined room.
      for (const room of this.rooms.values()) {
        const member = room.state.get(stateKeyOf('m.room.member', target));
        if (member?.content.membership !== 'join') continue;
        const content = { ...member.content };
        if (next === undefined) delete content[fieldName];
        else content[fieldName] = next;
        this.#append(room, {
          type: 'm.room.member',
          state_key: target,
          sender: target,
          content,
          ts: this.#now(),
        });
      }
    }
    return ok({});
  }

  #createRoom(c: Ctx): Reply {
    const body = jsonBody(c);
    const creator = c.user;
    const roomVersion = typeof body.room_version === 'string' ? body.room_version : '11';
    let alias: string | undefined;
    if (body.room_alias_name !== undefined) {
      if (typeof body.room_alias_name !== 'string' || body.room_alias_name.includes(':')) {
        throw new Failure(
          400,
          'M_INVALID_PARAM',
          "room_alias_name must be a localpart without ':'",
        );
      }
      alias = `#${body.room_alias_name}:${this.serverName}`;
      if (this.aliases.has(alias))
        throw new Failure(400, 'M_ROOM_IN_USE', 'Room alias already taken');
    }
    const override = asObject(body.power_level_content_override, 'power_level_content_override');
    if (override?.users !== undefined && roomVersion !== '12') {
      const users = asObject(override.users, 'power_level_content_override.users');
      if (users?.[creator] === undefined) {
        throw new Failure(
          400,
          'M_INVALID_PARAM',
          'power_level_content_override.users must include the room creator',
        );
      }
    }
    const visibility = body.visibility === 'public' ? 'public' : 'private';
    const preset = body.preset ?? (visibility === 'public' ? 'public_chat' : 'private_chat');
    if (
      preset !== 'private_chat' &&
      preset !== 'trusted_private_chat' &&
      preset !== 'public_chat'
    ) {
      throw new Failure(400, 'M_INVALID_PARAM', 'Unknown preset');
    }
    const invites = Array.isArray(body.invite)
      ? body.invite.filter((u): u is string => typeof u === 'string')
      : [];
    const initialState = Array.isArray(body.initial_state) ? body.initial_state : [];

    const roomId: RoomId = `!${randomBytes(9).toString('base64url')}:${this.serverName}`;
    const room: FakeRoom = {
      roomId,
      roomVersion,
      events: [],
      state: new Map(),
      readMarkers: new Map(),
    };
    this.rooms.set(roomId, room);
    if (alias !== undefined) this.aliases.set(alias, roomId);

    const now = this.#now();
    const state = (type: string, stateKey: string, content: JsonObject): void => {
      this.#append(room, { type, state_key: stateKey, sender: creator, content, ts: now });
    };
    const creationContent = asObject(body.creation_content, 'creation_content') ?? {};
    state('m.room.create', '', { ...creationContent, room_version: roomVersion });
    state('m.room.member', creator, this.#memberContent(creator, { membership: 'join' }));
    const users: JsonObject = { [creator]: 100 };
    if (preset === 'trusted_private_chat') for (const u of invites) users[u] = 100;
    state('m.room.power_levels', '', {
      users,
      users_default: 0,
      events: {
        'm.room.name': 50,
        'm.room.power_levels': 100,
        'm.room.history_visibility': 100,
        'm.room.canonical_alias': 50,
        'm.room.avatar': 50,
        'm.room.tombstone': 100,
        'm.room.server_acl': 100,
        'm.room.encryption': 100,
      },
      events_default: 0,
      state_default: 50,
      ban: 50,
      kick: 50,
      redact: 50,
      invite: preset === 'public_chat' ? 50 : 0,
      ...override,
    });
    if (alias !== undefined) state('m.room.canonical_alias', '', { alias });
    state('m.room.join_rules', '', { join_rule: preset === 'public_chat' ? 'public' : 'invite' });
    state('m.room.history_visibility', '', { history_visibility: 'shared' });
    state('m.room.guest_access', '', {
      guest_access: preset === 'public_chat' ? 'forbidden' : 'can_join',
    });
    for (const entry of initialState) {
      const e = asObject(entry, 'initial_state[]') ?? {};
      if (typeof e.type !== 'string')
        throw new Failure(400, 'M_BAD_JSON', 'initial_state entry without type');
      const stateKey = typeof e.state_key === 'string' ? e.state_key : '';
      state(e.type, stateKey, asObject(e.content, 'initial_state[].content') ?? {});
    }
    if (typeof body.name === 'string') state('m.room.name', '', { name: body.name });
    if (typeof body.topic === 'string') state('m.room.topic', '', { topic: body.topic });
    for (const invitee of invites) {
      const content: JsonObject = { membership: 'invite' };
      if (body.is_direct === true) content.is_direct = true;
      state('m.room.member', invitee, content);
    }
    return ok({ room_id: roomId });
  }

  #getAlias(c: Ctx): Reply {
    const alias = param(c, 'alias');
    const roomId = this.aliases.get(alias);
    if (roomId === undefined)
      throw new Failure(404, 'M_NOT_FOUND', `Room alias ${alias} not found`);
    return ok({ room_id: roomId, servers: [this.serverName] });
  }

  #putAlias(c: Ctx): Reply {
    const alias = param(c, 'alias');
    if (!/^#[^:]+:/.test(alias) || !alias.endsWith(`:${this.serverName}`)) {
      throw new Failure(400, 'M_INVALID_PARAM', 'Alias must be local');
    }
    const roomId = jsonBody(c).room_id;
    if (typeof roomId !== 'string' || !this.rooms.has(roomId as RoomId)) {
      throw new Failure(404, 'M_NOT_FOUND', 'Room not found');
    }
    if (this.aliases.has(alias))
      throw new Failure(409, 'M_UNKNOWN', `Room alias ${alias} already exists`);
    this.aliases.set(alias, roomId as RoomId);
    return ok({});
  }

  #send(c: Ctx): Reply {
    const room = this.#roomOr404(param(c, 'room'));
    const type = param(c, 'type');
    const content = jsonBody(c);
    const ts = this.#ts(c);
    if (this.#membership(room, c.user) !== 'join') {
      throw new Failure(403, 'M_FORBIDDEN', `User ${c.user} not in room ${room.roomId}`);
    }
    this.#validateRelation(room, c.user, type, content);
    const event = this.#append(room, { type, sender: c.user, content, ts });
    return ok({ event_id: event.event_id });
  }

  #putState(c: Ctx): Reply {
    const room = this.#roomOr404(param(c, 'room'));
    const type = param(c, 'type');
    const stateKey = c.params.key ?? '';
    let content = jsonBody(c);
    const ts = this.#ts(c);
    if (type === 'm.room.member') {
      content = this.#checkMembership(room, c.user, stateKey, content);
    } else if (this.#membership(room, c.user) !== 'join') {
      throw new Failure(403, 'M_FORBIDDEN', `User ${c.user} not in room ${room.roomId}`);
    }
    const current = room.state.get(stateKeyOf(type, stateKey));
    if (
      current !== undefined &&
      current.sender === c.user &&
      canonical(current.content) === canonical(content)
    ) {
      return ok({ event_id: current.event_id });
    }
    const event = this.#append(room, { type, state_key: stateKey, sender: c.user, content, ts });
    return ok({ event_id: event.event_id });
  }

  #getState(c: Ctx): Reply {
    const room = this.#readableRoom(c);
    const event = room.state.get(stateKeyOf(param(c, 'type'), c.params.key ?? ''));
    if (event === undefined) throw new Failure(404, 'M_NOT_FOUND', 'Event not found.');
    return ok(event.content);
  }

  #getRoomState(c: Ctx): Reply {
    return ok([...this.#readableRoom(c).state.values()]);
  }

  #join(c: Ctx): Reply {
    const target = param(c, 'room');
    const roomId = target.startsWith('#') ? this.aliases.get(target) : target;
    if (roomId === undefined)
      throw new Failure(404, 'M_NOT_FOUND', `Room alias ${target} not found`);
    const room = this.#roomOr404(roomId);
    const content = this.#checkMembership(room, c.user, c.user, { membership: 'join' });
    const current = room.state.get(stateKeyOf('m.room.member', c.user));
    if (
      current?.content.membership !== 'join' ||
      canonical(current.content) !== canonical(content)
    ) {
      this.#append(room, {
        type: 'm.room.member',
        state_key: c.user,
        sender: c.user,
        content,
        ts: this.#now(),
      });
    }
    return ok({ room_id: room.roomId });
  }

  #invite(c: Ctx): Reply {
    const room = this.#roomOr404(param(c, 'room'));
    const invitee = jsonBody(c).user_id;
    if (typeof invitee !== 'string') throw new Failure(400, 'M_MISSING_PARAM', 'Missing user_id');
    if (this.#membership(room, invitee as UserId) === 'invite') return ok({});
    const content = this.#checkMembership(room, c.user, invitee, {
      membership: 'invite',
    });
    this.#append(room, {
      type: 'm.room.member',
      state_key: invitee,
      sender: c.user,
      content,
      ts: this.#now(),
    });
    return ok({});
  }

  #messages(c: Ctx): Reply {
    const room = this.#readableRoom(c);
    const dir = c.query.get('dir') ?? 'b';
    if (dir !== 'b' && dir !== 'f') throw new Failure(400, 'M_INVALID_PARAM', 'dir must be b or f');
    const limit = Math.min(Number(c.query.get('limit') ?? '10'), 1000);
    if (!Number.isInteger(limit) || limit < 0)
      throw new Failure(400, 'M_INVALID_PARAM', 'Bad limit');
    const from = c.query.get('from');
    let pos: number;
    if (from === null) {
      pos = dir === 'b' ? room.events.length : 0;
    } else {
      const m = /^p(\d+)$/.exec(from);
      if (m?.[1] === undefined) throw new Failure(400, 'M_INVALID_PARAM', 'Invalid from token');
      pos = Math.min(Number(m[1]), room.events.length);
    }
    const filter = parseFilter(c.query.get('filter'));
    const chunk: ClientEvent[] = [];
    let cursor = pos;
    if (dir === 'b') {
      while (cursor > 0 && chunk.length < limit) {
        const event = room.events[--cursor];
        if (event !== undefined && filter(event)) chunk.push(event);
      }
    } else {
      while (cursor < room.events.length && chunk.length < limit) {
        const event = room.events[cursor++];
        if (event !== undefined && filter(event)) chunk.push(event);
      }
    }
    const atEdge = dir === 'b' ? cursor === 0 : cursor === room.events.length;
    return ok({ chunk, start: `p${pos}`, ...(atEdge ? {} : { end: `p${cursor}` }) });
  }

  #members(c: Ctx): Reply {
    const room = this.#readableRoom(c);
    return ok({ chunk: [...room.state.values()].filter((e) => e.type === 'm.room.member') });
  }

  #readMarkers(c: Ctx): Reply {
    const room = this.#roomOr404(param(c, 'room'));
    if (this.#membership(room, c.user) !== 'join') {
      throw new Failure(403, 'M_FORBIDDEN', `User ${c.user} not in room ${room.roomId}`);
    }
    const body = jsonBody(c);
    const fullyRead = body['m.fully_read'];
    const read = body['m.read'];
    for (const id of [fullyRead, read]) {
      if (
        id !== undefined &&
        (typeof id !== 'string' || !room.events.some((e) => e.event_id === id))
      ) {
        throw new Failure(404, 'M_NOT_FOUND', 'Event not found');
      }
    }
    const previous = room.readMarkers.get(c.user);
    room.readMarkers.set(c.user, {
      fullyRead: (fullyRead ?? previous?.fullyRead) as EventId,
      read: (read ?? previous?.read) as EventId,
    });
    return ok({});
  }

  #putAccountData(c: Ctx): Reply {
    const user = this.#self(c);
    user.accountData.set(param(c, 'type'), jsonBody(c));
    return ok({});
  }

  #getAccountData(c: Ctx): Reply {
    const data = this.#self(c).accountData.get(param(c, 'type'));
    if (data === undefined) throw new Failure(404, 'M_NOT_FOUND', 'Account data not found');
    return ok(data);
  }

  #joinedRooms(c: Ctx): Reply {
    const joined = [...this.rooms.values()]
      .filter((room) => this.#membership(room, c.user) === 'join')
      .map((room) => room.roomId);
    return ok({ joined_rooms: joined });
  }

  #upload(c: Ctx): Reply {
    if (c.headers['content-length'] === undefined) {
      throw new Failure(400, 'M_UNKNOWN', 'Request must specify a Content-Length');
    }
    if (c.raw.length > this.maxUploadBytes) {
      throw new Failure(413, 'M_TOO_LARGE', 'Upload request body is too large');
    }
    const mediaId = randomBytes(12).toString('base64url');
    this.media.set(mediaId, {
      bytes: c.raw,
      contentType: c.headers['content-type'] ?? 'application/octet-stream',
      filename: c.query.get('filename') ?? undefined,
      uploader: c.user,
    });
    return ok({ content_uri: `mxc://${this.serverName}/${mediaId}` });
  }

  #download(c: Ctx): Reply {
    const media =
      param(c, 'server') === this.serverName ? this.media.get(param(c, 'media')) : undefined;
    if (media === undefined) throw new Failure(404, 'M_NOT_FOUND', 'Not found');
    // JSON-only fake: media bytes are returned base64-encoded rather than raw.
    return ok({ content_type: media.contentType, base64: media.bytes.toString('base64') });
  }

  #adminRoom(c: Ctx): Reply {
    const room = this.#roomOr404(param(c, 'room'));
    const members = [...room.state.values()].filter(
      (e) => e.type === 'm.room.member' && e.content.membership === 'join',
    );
    return ok({
      room_id: room.roomId,
      name: room.state.get(stateKeyOf('m.room.name', ''))?.content.name ?? null,
      joined_members: members.length,
      version: room.roomVersion,
      state_events: room.state.size,
    });
  }

  // ---- room model ------------------------------------------------------------------------

  #append(
    room: FakeRoom,
    e: { type: string; sender: UserId; content: JsonObject; ts: number; state_key?: string },
  ): ClientEvent {
    const event: ClientEvent = {
      event_id: `$${randomBytes(15).toString('base64url')}${String(++this.#seq)}`,
      room_id: room.roomId,
      sender: e.sender,
      type: e.type,
      content: e.content,
      origin_server_ts: e.ts,
      ...(e.state_key === undefined ? {} : { state_key: e.state_key }),
    };
    if (Buffer.byteLength(JSON.stringify(event)) + PDU_OVERHEAD_BYTES > MAX_PDU_BYTES) {
      throw new Failure(413, 'M_TOO_LARGE', 'Event is too large');
    }
    room.events.push(event);
    if (e.state_key !== undefined) room.state.set(stateKeyOf(e.type, e.state_key), event);
    return event;
  }

  #membership(room: FakeRoom, userId: UserId): string | undefined {
    const membership = room.state.get(stateKeyOf('m.room.member', userId))?.content.membership;
    return typeof membership === 'string' ? membership : undefined;
  }

  /** Applies the membership auth rules; returns the content to persist (profile filled in). */
  #checkMembership(
    room: FakeRoom,
    sender: UserId,
    target: string,
    content: JsonObject,
  ): JsonObject {
    const membership = typeof content.membership === 'string' ? content.membership : '';
    const current = this.#membership(room, target as UserId);
    const forbidden = (why: string): Failure => new Failure(403, 'M_FORBIDDEN', why);
    switch (membership) {
      case 'join': {
        if (sender !== target) throw forbidden('Cannot force another user to join');
        if (current === 'ban') throw forbidden(`${target} is banned from the room`);
        if (current !== 'join' && current !== 'invite' && !this.#mayJoinUninvited(room, sender)) {
          throw forbidden('You are not invited to this room.');
        }
        return this.#memberContent(sender, content);
      }
      case 'invite':
        if (this.#membership(room, sender) !== 'join')
          throw forbidden(`User ${sender} not in room ${room.roomId}`);
        if (current === 'join') throw forbidden(`${target} is already in the room.`);
        if (current === 'ban') throw forbidden(`${target} is banned from the room`);
        return content;
      case 'leave':
        if (sender === target) {
          if (current !== 'join' && current !== 'invite')
            throw forbidden(`User ${sender} not in room ${room.roomId}`);
        } else if (this.#membership(room, sender) !== 'join') {
          throw forbidden(`User ${sender} not in room ${room.roomId}`);
        }
        return content;
      case 'ban':
        if (this.#membership(room, sender) !== 'join')
          throw forbidden(`User ${sender} not in room ${room.roomId}`);
        return content;
      default:
        throw new Failure(400, 'M_BAD_JSON', 'Invalid membership');
    }
  }

  #mayJoinUninvited(room: FakeRoom, userId: UserId): boolean {
    const rules = room.state.get(stateKeyOf('m.room.join_rules', ''))?.content;
    switch (typeof rules?.join_rule === 'string' ? rules.join_rule : '') {
      case 'public':
        return true;
      case 'restricted':
      case 'knock_restricted': {
        const allow = Array.isArray(rules?.allow) ? rules.allow : [];
        return allow.some((entry) => {
          const e = entry as JsonObject | null;
          if (e?.type !== 'm.room_membership' || typeof e.room_id !== 'string') return false;
          const other = this.rooms.get(e.room_id as RoomId);
          return other !== undefined && this.#membership(other, userId) === 'join';
        });
      }
      default:
        return false;
    }
  }

  #memberContent(userId: UserId, content: JsonObject): JsonObject {
    const user = this.users.get(userId);
    const filled: JsonObject = { ...content };
    if (filled.displayname === undefined && user?.displayname !== undefined)
      filled.displayname = user.displayname;
    if (filled.avatar_url === undefined && user?.avatarUrl !== undefined)
      filled.avatar_url = user.avatarUrl;
    return filled;
  }

  #validateRelation(room: FakeRoom, sender: UserId, type: string, content: JsonObject): void {
    const rel = content['m.relates_to'];
    if (typeof rel !== 'object' || rel === null || Array.isArray(rel)) return;
    const relType = rel.rel_type;
    const targetId = rel.event_id;
    if (typeof relType !== 'string' || typeof targetId !== 'string') return;
    const target = this.#findEvent(targetId);
    if (target === undefined)
      throw new Failure(400, 'M_UNKNOWN', "Can't send relation to unknown event");
    if (target.room_id !== room.roomId)
      throw new Failure(400, 'M_UNKNOWN', 'Relations must be in the same room');
    if (relType === 'm.annotation') {
      const duplicate = room.events.some((e) => {
        const r = e.content['m.relates_to'] as JsonObject | undefined;
        return (
          e.sender === sender &&
          e.type === type &&
          r?.rel_type === 'm.annotation' &&
          r.event_id === targetId &&
          r.key === rel.key
        );
      });
      if (duplicate)
        throw new Failure(400, 'M_DUPLICATE_ANNOTATION', "Can't send same reaction twice");
    }
    if (relType === 'm.thread') {
      const targetRel = target.content['m.relates_to'] as JsonObject | undefined;
      if (typeof targetRel?.rel_type === 'string') {
        throw new Failure(400, 'M_UNKNOWN', 'Cannot start threads from an event with a relation');
      }
    }
  }

  #findEvent(eventId: string): ClientEvent | undefined {
    for (const room of this.rooms.values()) {
      const event = room.events.find((e) => e.event_id === eventId);
      if (event !== undefined) return event;
    }
    return undefined;
  }

  #ts(c: Ctx): number {
    const ts = c.query.get('ts');
    if (ts === null) return this.#now();
    if (!/^\d+$/.test(ts))
      throw new Failure(
        400,
        'M_INVALID_PARAM',
        'Query parameter "ts" must be a non-negative integer',
      );
    return Number(ts);
  }

  #room(roomId: RoomId): FakeRoom {
    const room = this.rooms.get(roomId);
    if (room === undefined) throw new Error(`FakeHomeserver: no room ${roomId}`);
    return room;
  }

  #roomOr404(roomId: string): FakeRoom {
    const room = this.rooms.get(roomId as RoomId);
    if (room === undefined) throw new Failure(404, 'M_NOT_FOUND', `Unknown room ${roomId}`);
    return room;
  }

  /** A room the requester may read: currently joined, or world-readable history. */
  #readableRoom(c: Ctx): FakeRoom {
    const room = this.#roomOr404(param(c, 'room'));
    const visibility = room.state.get(stateKeyOf('m.room.history_visibility', ''))?.content
      .history_visibility;
    if (this.#membership(room, c.user) !== 'join' && visibility !== 'world_readable') {
      throw new Failure(403, 'M_FORBIDDEN', `User ${c.user} not in room ${room.roomId}`);
    }
    return room;
  }

  #self(c: Ctx): FakeUser {
    const target = param(c, 'user');
    if (target !== c.user)
      throw new Failure(403, 'M_FORBIDDEN', 'Cannot add account data for other users.');
    const user = this.users.get(c.user);
    if (user === undefined) throw new Failure(404, 'M_NOT_FOUND', 'User not found');
    return user;
  }
}

// ---- helpers -----------------------------------------------------------------------------

function ok(body: unknown): Reply {
  return { status: 200, body };
}

function param(c: Ctx, name: string): string {
  const value = c.params[name];
  if (value === undefined) throw new Error(`route has no :${name}`);
  return value;
}

function matchParts(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] ?? '';
    const s = segments[i] ?? '';
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return undefined;
  }
  return params;
}

function parseJsonOrUndefined(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function jsonBody(c: Ctx): JsonObject {
  if (c.raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(c.raw.toString('utf8'));
  } catch {
    throw new Failure(400, 'M_NOT_JSON', 'Content not JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Failure(400, 'M_BAD_JSON', 'Content must be a JSON object.');
  }
  return value as JsonObject;
}

function asObject(value: unknown, what: string): JsonObject | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Failure(400, 'M_BAD_JSON', `${what} must be an object`);
  }
  return value as JsonObject;
}

/** JSON with sorted keys, for content equality. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function parseFilter(raw: string | null): (e: ClientEvent) => boolean {
  if (raw === null) return () => true;
  let filter: Record<string, unknown>;
  try {
    filter = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new Failure(400, 'M_NOT_JSON', 'filter is not JSON');
  }
  const list = (key: string): string[] | undefined => {
    const v = filter[key];
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
  };
  const matches = (patterns: string[], value: string): boolean =>
    patterns.some((p) => (p.endsWith('*') ? value.startsWith(p.slice(0, -1)) : p === value));
  const types = list('types');
  const notTypes = list('not_types');
  const senders = list('senders');
  const notSenders = list('not_senders');
  return (e) =>
    (types === undefined || matches(types, e.type)) &&
    (notTypes === undefined || !matches(notTypes, e.type)) &&
    (senders === undefined || senders.includes(e.sender)) &&
    (notSenders === undefined || !notSenders.includes(e.sender));
}
