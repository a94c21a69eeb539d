/**
 * A thin, typed Matrix client-server API client for an application service (AS), built on
 * Node's global `fetch`. It covers exactly what an import needs (see
 * `docs/matrix-import.md` §2–§7) and nothing else: no sync loop, no crypto, no state cache.
 *
 * Contract:
 * - Every request carries `Authorization: Bearer <as_token>` (admin requests: the admin token).
 *   Methods that act *as* a user take that user's ID and send it as `?user_id=`; without it
 *   Synapse acts as the AS bot (`sender_localpart`). The user must already be registered and
 *   inside the AS user namespace (403 otherwise).
 * - Path segments (room IDs, aliases, user IDs, event types, state keys, txn IDs) are
 *   `encodeURIComponent`-ed, always the same way, so a retried `PUT /send/…/{txnId}` hits
 *   Synapse's txn cache, which is keyed by the raw path (`!` and `%21` are different keys).
 * - Failures are `MatrixHttpError`, `MatrixNetworkError` or `MatrixResponseError`
 *   (`client-errors.ts`); their messages and everything logged never contain a token or a
 *   query string.
 * - Retries follow `retry.ts`; each method documents its `RetryMode`. Methods whose repetition
 *   is unsafe (`createRoom`) throw on ambiguous failures and leave the recovery to the caller.
 * - Lookups that the spec answers with 404 `M_NOT_FOUND` for "nothing there"
 *   (`resolveAlias`, `getState`, `getAccountData`, `getProfile`) return `undefined` instead.
 * - The client holds no per-room state and may be shared by concurrent room writers; ordering
 *   within a room (one in-flight event at a time) is the caller's job.
 */

import { silentLogger, type Logger } from '../logger.js';
import {
  MatrixHttpError,
  MatrixNetworkError,
  MatrixResponseError,
  isErrcode,
  isStatus,
  parseRetryAfter,
  type HttpMethod,
} from './client-errors.js';
import { DEFAULT_RETRY_OPTIONS, withRetry, type RetryMode, type RetryOptions } from './retry.js';
import {
  isEventId,
  isMxcUri,
  isRoomId,
  isUserId,
  serverNameOf,
  type ClientEvent,
  type CreateRoomBody,
  type Direction,
  type EventId,
  type JsonObject,
  type MessagesPage,
  type MxcUri,
  type Profile,
  type RoomAlias,
  type RoomEventFilter,
  type RoomId,
  type UserId,
  type VersionsResponse,
  type WhoamiResponse,
} from './types.js';

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

/** Who sends a timeline or state event, and when it claims to have happened. */
export interface SendOptions {
  /** Masquerade as this user (`?user_id=`); the AS bot when omitted. */
  userId?: UserId;
  /** Original time in ms since the epoch (`?ts=`, sets `origin_server_ts`); "now" if omitted. */
  ts?: number;
  /**
   * `throttle_only` hands ambiguous failures (5xx, lost responses) back to the caller instead of
   * resending: a resend is only safe after checking the event did not land, since Synapse's
   * transaction cache does not survive a restart. Default `idempotent`.
   */
  retry?: 'idempotent' | 'throttle_only';
}

export interface MessagesOptions {
  from?: string;
  dir: Direction;
  limit: number;
  filter?: RoomEventFilter;
  userId?: UserId;
}

/**
 * Upload body. A `Uint8Array` or a factory returning a fresh stream can be re-sent and is
 * retried like an idempotent request; a bare one-shot stream (e.g. `fs.createReadStream`) is
 * consumed by the first attempt and therefore never retried.
 */
export type UploadBody = Uint8Array | AsyncIterable<Uint8Array> | (() => AsyncIterable<Uint8Array>);

export interface UploadOptions {
  contentType: string;
  filename?: string;
  /** Exact byte length, sent as `Content-Length` (Synapse rejects chunked uploads). */
  size: number;
  /** Record this user as the uploader; the AS bot when omitted. */
  userId?: UserId;
}

export interface RegisterResult {
  userId: UserId;
  /** False when the user already existed (`M_USER_IN_USE`). */
  created: boolean;
}

type Query = Record<string, string | number | undefined>;

type RequestBody =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'bytes'; contentType: string; size: number; source: UploadBody };

interface RequestSpec {
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
function encodePath(strings: TemplateStringsArray, ...segments: string[]): string {
  let out = strings[0] ?? '';
  segments.forEach((segment, i) => {
    out += encodeURIComponent(segment) + (strings[i + 1] ?? '');
  });
  return out;
}

const CS = '/_matrix/client/v3';

export class MatrixClient {
  readonly baseUrl: string;
  readonly #asToken: string;
  readonly #fetch: typeof fetch;
  readonly #logger: Logger;
  readonly #retry: RetryOptions;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #timeoutMs: number;
  #serverName: string | undefined;

  constructor(options: MatrixClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#asToken = options.asToken;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#logger = options.logger ?? silentLogger;
    this.#retry = { ...DEFAULT_RETRY_OPTIONS, ...options.retry };
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    this.#timeoutMs = options.requestTimeoutMs ?? 300_000;
    this.#serverName = options.serverName;
  }

  /** `GET /_matrix/client/versions`. Retry: idempotent. */
  async versions(): Promise<VersionsResponse> {
    const spec: RequestSpec = {
      method: 'GET',
      path: '/_matrix/client/versions',
      retry: 'idempotent',
    };
    const body = await this.#request(spec);
    const versions = field(body, 'versions');
    if (!Array.isArray(versions) || !versions.every((v) => typeof v === 'string')) {
      throw badResponse(spec, 'missing "versions"');
    }
    return body as VersionsResponse;
  }

  /** The default room version from `GET /capabilities` (`'1'` when the server does not say). */
  async defaultRoomVersion(): Promise<string> {
    const body = await this.#request({
      method: 'GET',
      path: `${CS}/capabilities`,
      retry: 'idempotent',
    });
    const caps = field(body, 'capabilities');
    const versions =
      typeof caps === 'object' && caps !== null
        ? (caps as Record<string, unknown>)['m.room_versions']
        : undefined;
    const def =
      typeof versions === 'object' && versions !== null
        ? (versions as Record<string, unknown>).default
        : undefined;
    return typeof def === 'string' ? def : '1';
  }

  /** `GET /account/whoami`, as `userId` when given. Retry: idempotent. */
  async whoami(userId?: UserId): Promise<WhoamiResponse> {
    const spec: RequestSpec = {
      method: 'GET',
      path: `${CS}/account/whoami`,
      query: { user_id: userId },
      retry: 'idempotent',
    };
    const body = await this.#request(spec);
    requireString(spec, body, 'user_id', isUserId);
    return body as WhoamiResponse;
  }

  /** The homeserver's server name (from the options, else from the bot's `whoami`). */
  async serverName(): Promise<string> {
    this.#serverName ??= serverNameOf((await this.whoami()).user_id);
    return this.#serverName;
  }

  /**
   * Registers an AS user (`POST /register`, `m.login.application_service`,
   * `inhibit_login: true`). An existing user (`M_USER_IN_USE`) is success with
   * `created: false`. Retry: idempotent (a repeat after a lost response reports
   * `created: false`).
   */
  async registerUser(localpart: string): Promise<RegisterResult> {
    const spec: RequestSpec = {
      method: 'POST',
      path: `${CS}/register`,
      body: {
        kind: 'json',
        value: { type: 'm.login.application_service', username: localpart, inhibit_login: true },
      },
      retry: 'idempotent',
    };
    try {
      const body = await this.#request(spec);
      return { userId: requireString(spec, body, 'user_id', isUserId), created: true };
    } catch (error) {
      if (!isErrcode(error, 'M_USER_IN_USE')) throw error;
      return { userId: `@${localpart}:${await this.serverName()}`, created: false };
    }
  }

  /** `GET /profile/{userId}`; `undefined` if the user is unknown. Retry: idempotent. */
  async getProfile(userId: UserId): Promise<Profile | undefined> {
    const body = await this.#requestOrNotFound({
      method: 'GET',
      path: CS + encodePath`/profile/${userId}`,
      retry: 'idempotent',
    });
    if (body === undefined) return undefined;
    const profile: Profile = {};
    const displayname = field(body, 'displayname');
    const avatarUrl = field(body, 'avatar_url');
    if (typeof displayname === 'string') profile.displayname = displayname;
    if (typeof avatarUrl === 'string' && isMxcUri(avatarUrl)) profile.avatar_url = avatarUrl;
    return profile;
  }

  /**
   * `PUT /profile/{userId}/displayname` as that user. Set profiles before the user's first join:
   * Synapse re-sends the member event, stamped "now", in every joined room (§2.4).
   * Retry: idempotent.
   */
  async setDisplayName(userId: UserId, displayname: string): Promise<void> {
    await this.#request({
      method: 'PUT',
      path: CS + encodePath`/profile/${userId}/displayname`,
      query: { user_id: userId },
      body: { kind: 'json', value: { displayname } },
      retry: 'idempotent',
    });
  }

  /** `PUT /profile/{userId}/avatar_url` as that user; see `setDisplayName`. Retry: idempotent. */
  async setAvatarUrl(userId: UserId, avatarUrl: MxcUri): Promise<void> {
    await this.#request({
      method: 'PUT',
      path: CS + encodePath`/profile/${userId}/avatar_url`,
      query: { user_id: userId },
      body: { kind: 'json', value: { avatar_url: avatarUrl } },
      retry: 'idempotent',
    });
  }

  /**
   * `POST /createRoom`, as `asUser` when given. Returns the new room ID.
   *
   * Retry: `throttle_only`. createRoom is not idempotent, so a 5xx or a connection lost after
   * the request was sent is thrown as a `retryable` error *without* a second attempt. The
   * caller must then `resolveAlias` the deterministic `room_alias_name` it passed: if the alias
   * resolves, the room was created and only missing state needs completing (§4.6).
   */
  async createRoom(body: CreateRoomBody, asUser?: UserId): Promise<RoomId> {
    const spec: RequestSpec = {
      method: 'POST',
      path: `${CS}/createRoom`,
      query: { user_id: asUser },
      body: { kind: 'json', value: body },
      retry: 'throttle_only',
    };
    return requireString(spec, await this.#request(spec), 'room_id', isRoomId);
  }

  /** `GET /directory/room/{alias}`; `undefined` when the alias does not exist. Retry: idempotent. */
  async resolveAlias(alias: RoomAlias): Promise<RoomId | undefined> {
    const spec: RequestSpec = {
      method: 'GET',
      path: CS + encodePath`/directory/room/${alias}`,
      retry: 'idempotent',
    };
    const body = await this.#requestOrNotFound(spec);
    return body === undefined ? undefined : requireString(spec, body, 'room_id', isRoomId);
  }

  /**
   * `PUT /directory/room/{alias}`. Idempotent by design: if the alias already exists (409) and
   * points at `roomId`, this succeeds; if it points elsewhere the 409 is rethrown.
   * Retry: idempotent.
   */
  async putAlias(alias: RoomAlias, roomId: RoomId, asUser?: UserId): Promise<void> {
    try {
      await this.#request({
        method: 'PUT',
        path: CS + encodePath`/directory/room/${alias}`,
        query: { user_id: asUser },
        body: { kind: 'json', value: { room_id: roomId } },
        retry: 'idempotent',
      });
    } catch (error) {
      if (isStatus(error, 409) && (await this.resolveAlias(alias)) === roomId) return;
      throw error;
    }
  }

  /**
   * `PUT /rooms/{roomId}/send/{type}/{txnId}?user_id=&ts=`. Returns the event ID.
   *
   * `txnId` must be deterministic and globally unique (Synapse's txn cache ignores `user_id`,
   * §5.9). Retry: idempotent — a retry after a lost response reuses the same txnId and gets
   * the first event's ID back while the server's txn cache still holds it (30–60 min, not
   * across restarts).
   */
  async sendEvent(
    roomId: RoomId,
    type: string,
    txnId: string,
    content: JsonObject,
    options: SendOptions = {},
  ): Promise<EventId> {
    return this.#putEvent(
      CS + encodePath`/rooms/${roomId}/send/${type}/${txnId}`,
      content,
      options,
    );
  }

  /**
   * `PUT /rooms/{roomId}/redact/{eventId}/{txnId}?user_id=&ts=`: redacts an event, carrying
   * extra content keys (ferry's provenance) beside `reason`. Retry: idempotent (txn ID).
   */
  async redact(
    roomId: RoomId,
    eventId: EventId,
    txnId: string,
    content: JsonObject,
    options: SendOptions = {},
  ): Promise<EventId> {
    return this.#putEvent(
      CS + encodePath`/rooms/${roomId}/redact/${eventId}/${txnId}`,
      content,
      options,
    );
  }

  /**
   * `PUT /rooms/{roomId}/state/{type}/{stateKey}?user_id=&ts=`. Returns the event ID. Synapse
   * returns the existing event for an identical replay (same sender and content).
   * Retry: idempotent.
   */
  async sendState(
    roomId: RoomId,
    type: string,
    stateKey: string,
    content: JsonObject,
    options: SendOptions = {},
  ): Promise<EventId> {
    return this.#putEvent(
      CS + encodePath`/rooms/${roomId}/state/${type}/${stateKey}`,
      content,
      options,
    );
  }

  /** One timeline or state event PUT as `options.userId` at `options.ts`; returns its ID. */
  async #putEvent(path: string, content: JsonObject, options: SendOptions): Promise<EventId> {
    const spec: RequestSpec = {
      method: 'PUT',
      path,
      query: { user_id: options.userId, ts: options.ts },
      body: { kind: 'json', value: content },
      retry: options.retry ?? 'idempotent',
    };
    return requireString(spec, await this.#request(spec), 'event_id', isEventId);
  }

  /** `GET /rooms/{roomId}/state/{type}/{stateKey}` content; `undefined` if unset. */
  async getState(
    roomId: RoomId,
    type: string,
    stateKey: string,
    userId?: UserId,
  ): Promise<JsonObject | undefined> {
    const spec: RequestSpec = {
      method: 'GET',
      path: CS + encodePath`/rooms/${roomId}/state/${type}/${stateKey}`,
      query: { user_id: userId },
      retry: 'idempotent',
    };
    const body = await this.#requestOrNotFound(spec);
    if (body === undefined) return undefined;
    if (!isObject(body)) throw badResponse(spec, 'state content is not an object');
    return body as JsonObject;
  }

  /** `GET /rooms/{roomId}/state`: every current state event. Retry: idempotent. */
  async getRoomState(roomId: RoomId, userId?: UserId): Promise<ClientEvent[]> {
    const spec: RequestSpec = {
      method: 'GET',
      path: CS + encodePath`/rooms/${roomId}/state`,
      query: { user_id: userId },
      retry: 'idempotent',
    };
    return requireEvents(spec, await this.#request(spec));
  }

  /**
   * `POST /join/{roomIdOrAlias}` as `userId`. No `ts` is possible here: for a historical join
   * send `sendState(room, 'm.room.member', userId, {membership: 'join'}, {userId, ts})`.
   * Retry: idempotent (joining twice is a no-op).
   */
  async joinRoom(
    roomIdOrAlias: RoomId | RoomAlias,
    userId: UserId,
    options: { via?: string[] } = {},
  ): Promise<RoomId> {
    const spec: RequestSpec = {
      method: 'POST',
      path: CS + encodePath`/join/${roomIdOrAlias}`,
      query: { user_id: userId, server_name: options.via?.[0] },
      body: { kind: 'json', value: {} },
      retry: 'idempotent',
    };
    return requireString(spec, await this.#request(spec), 'room_id', isRoomId);
  }

  /** `POST /rooms/{roomId}/invite` of `userId`, sent by `asUser`. Retry: idempotent. */
  async invite(roomId: RoomId, userId: UserId, asUser?: UserId): Promise<void> {
    await this.#request({
      method: 'POST',
      path: CS + encodePath`/rooms/${roomId}/invite`,
      query: { user_id: asUser },
      body: { kind: 'json', value: { user_id: userId } },
      retry: 'idempotent',
    });
  }

  /** `GET /rooms/{roomId}/messages`: one page of the timeline. Retry: idempotent. */
  async messages(roomId: RoomId, options: MessagesOptions): Promise<MessagesPage> {
    const spec: RequestSpec = {
      method: 'GET',
      path: CS + encodePath`/rooms/${roomId}/messages`,
      query: {
        dir: options.dir,
        limit: options.limit,
        from: options.from,
        filter: options.filter === undefined ? undefined : JSON.stringify(options.filter),
        user_id: options.userId,
      },
      retry: 'idempotent',
    };
    const body = await this.#request(spec);
    const page: MessagesPage = {
      chunk: requireEvents(spec, field(body, 'chunk')),
      start: requireString(spec, body, 'start'),
    };
    const end = field(body, 'end');
    if (typeof end === 'string') page.end = end;
    const state = field(body, 'state');
    if (state !== undefined) page.state = requireEvents(spec, state);
    return page;
  }

  /**
   * `POST /_matrix/media/v3/upload?filename=` with `Content-Length`. Returns the `mxc://` URI.
   * Retry: idempotent for bytes and stream factories (a duplicate upload only leaves an
   * orphan), `never` for a one-shot stream.
   */
  async upload(body: UploadBody, options: UploadOptions): Promise<MxcUri> {
    const spec: RequestSpec = {
      method: 'POST',
      path: '/_matrix/media/v3/upload',
      query: { filename: options.filename, user_id: options.userId },
      body: { kind: 'bytes', contentType: options.contentType, size: options.size, source: body },
      retry: body instanceof Uint8Array || typeof body === 'function' ? 'idempotent' : 'never',
    };
    return requireString(spec, await this.#request(spec), 'content_uri', isMxcUri);
  }

  /** `PUT /user/{userId}/account_data/{type}` as that user (replaces the whole value). */
  async setAccountData(userId: UserId, type: string, content: JsonObject): Promise<void> {
    await this.#request({
      method: 'PUT',
      path: CS + encodePath`/user/${userId}/account_data/${type}`,
      query: { user_id: userId },
      body: { kind: 'json', value: content },
      retry: 'idempotent',
    });
  }

  /** `GET /user/{userId}/account_data/{type}`; `undefined` when unset. Retry: idempotent. */
  async getAccountData(userId: UserId, type: string): Promise<JsonObject | undefined> {
    const spec: RequestSpec = {
      method: 'GET',
      path: CS + encodePath`/user/${userId}/account_data/${type}`,
      query: { user_id: userId },
      retry: 'idempotent',
    };
    const body = await this.#requestOrNotFound(spec);
    if (body === undefined) return undefined;
    if (!isObject(body)) throw badResponse(spec, 'account data is not an object');
    return body as JsonObject;
  }

  /**
   * `POST /rooms/{roomId}/read_markers` as `userId`, setting both `m.fully_read` and `m.read`
   * to `eventId`. Retry: idempotent.
   */
  async setReadMarkers(roomId: RoomId, userId: UserId, eventId: EventId): Promise<void> {
    await this.#request({
      method: 'POST',
      path: CS + encodePath`/rooms/${roomId}/read_markers`,
      query: { user_id: userId },
      body: { kind: 'json', value: { 'm.fully_read': eventId, 'm.read': eventId } },
      retry: 'idempotent',
    });
  }

  /** `GET /rooms/{roomId}/members`: current `m.room.member` events. Retry: idempotent. */
  async roomMembers(roomId: RoomId, userId?: UserId): Promise<ClientEvent[]> {
    const spec: RequestSpec = {
      method: 'GET',
      path: CS + encodePath`/rooms/${roomId}/members`,
      query: { user_id: userId },
      retry: 'idempotent',
    };
    return requireEvents(spec, field(await this.#request(spec), 'chunk'));
  }

  /** `GET /joined_rooms` as `userId`. Retry: idempotent. */
  async joinedRooms(userId?: UserId): Promise<RoomId[]> {
    const spec: RequestSpec = {
      method: 'GET',
      path: `${CS}/joined_rooms`,
      query: { user_id: userId },
      retry: 'idempotent',
    };
    const rooms = field(await this.#request(spec), 'joined_rooms');
    if (!Array.isArray(rooms)) throw badResponse(spec, 'missing "joined_rooms"');
    return rooms.map((r) => {
      if (typeof r !== 'string' || !isRoomId(r)) throw badResponse(spec, 'bad room ID');
      return r;
    });
  }

  /**
   * A Synapse admin API call (`/_synapse/admin/…`) with a separate admin access token.
   * `path` is used as given, so the caller encodes its segments (and may add a query).
   * Retry: idempotent for GET/PUT/DELETE, `throttle_only` for POST unless overridden.
   */
  async adminRequest(
    method: HttpMethod,
    path: string,
    body: unknown,
    adminToken: string,
    options: { retry?: RetryMode } = {},
  ): Promise<unknown> {
    if (!path.startsWith('/_synapse/admin/')) {
      throw new TypeError('adminRequest path must start with /_synapse/admin/');
    }
    const queryAt = path.indexOf('?');
    return this.#request({
      method,
      path: queryAt === -1 ? path : path.slice(0, queryAt),
      query:
        queryAt === -1 ? undefined : Object.fromEntries(new URLSearchParams(path.slice(queryAt))),
      body: body === undefined ? { kind: 'none' } : { kind: 'json', value: body },
      retry: options.retry ?? (method === 'POST' ? 'throttle_only' : 'idempotent'),
      token: adminToken,
    });
  }

  async #requestOrNotFound(spec: RequestSpec): Promise<unknown> {
    try {
      return await this.#request(spec);
    } catch (error) {
      if (isStatus(error, 404, 'M_NOT_FOUND')) return undefined;
      throw error;
    }
  }

  /** Sends `spec` under its retry mode; resolves to the parsed JSON body of a 2xx. */
  #request(spec: RequestSpec): Promise<unknown> {
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

    const started = Date.now();
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, init);
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
    const errcode = field(json, 'errcode');
    const error = field(json, 'error');
    const retryAfterBody = field(json, 'retry_after_ms');
    throw new MatrixHttpError({
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
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(body: unknown, key: string): unknown {
  return isObject(body) ? body[key] : undefined;
}

function badResponse(spec: RequestSpec, problem: string): MatrixResponseError {
  return new MatrixResponseError({ method: spec.method, path: spec.path, problem });
}

function requireString(spec: RequestSpec, body: unknown, key: string): string;
function requireString<T extends string>(
  spec: RequestSpec,
  body: unknown,
  key: string,
  guard: (s: string) => s is T,
): T;
function requireString(
  spec: RequestSpec,
  body: unknown,
  key: string,
  guard?: (s: string) => boolean,
): string {
  const value = field(body, key);
  if (typeof value !== 'string' || (guard !== undefined && !guard(value))) {
    throw badResponse(spec, `missing or malformed "${key}"`);
  }
  return value;
}

function requireEvents(spec: RequestSpec, value: unknown): ClientEvent[] {
  if (!Array.isArray(value)) throw badResponse(spec, 'expected a list of events');
  for (const event of value) {
    if (
      !isObject(event) ||
      typeof event.event_id !== 'string' ||
      typeof event.type !== 'string' ||
      typeof event.sender !== 'string' ||
      !isObject(event.content)
    ) {
      throw badResponse(spec, 'malformed event');
    }
  }
  return value as ClientEvent[];
}
