/**
 * Matrix client-server wire types used by ferry's homeserver client (`client.ts`) and by the
 * fake homeserver in `test/support`. Only the fields ferry reads or writes are typed; anything
 * else a homeserver sends is kept as `unknown` and never relied upon.
 *
 * Identifier types are template-literal types rather than brands: a literal such as
 * `'@alice:example.org'` type-checks without a cast, while a plain `string` from a database or
 * config must go through the `parse*` guards below, which validate the sigil and shape once at
 * the edge. The formats are fixed by the spec ("Identifier grammar"):
 *
 * - user IDs: `@localpart:server` (the server part may carry a port);
 * - room IDs: `!opaque:server`, or `!hash` with no server part in room version 12 (MSC4291);
 * - event IDs: `$opaque` (room v3+; v1/v2 also had `:server`, which this type still admits);
 * - room aliases: `#localpart:server`;
 * - content URIs: `mxc://server/media-id`.
 */

/** A JSON value as it appears on the wire. Integers must stay within ±(2^53−1). */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue | undefined;
}

export type UserId = `@${string}:${string}`;
export type RoomId = `!${string}`;
export type EventId = `$${string}`;
export type RoomAlias = `#${string}:${string}`;
export type MxcUri = `mxc://${string}/${string}`;

const USER_ID = /^@[^:\s]+:[^\s]+$/;
const ROOM_ID = /^![^\s]+$/;
const EVENT_ID = /^\$[^\s]+$/;
const ROOM_ALIAS = /^#[^:\s]+:[^\s]+$/;
const MXC_URI = /^mxc:\/\/[^/\s]+\/[^/\s]+$/;

export const isUserId = (s: string): s is UserId => USER_ID.test(s);
export const isRoomId = (s: string): s is RoomId => ROOM_ID.test(s);
export const isEventId = (s: string): s is EventId => EVENT_ID.test(s);
export const isRoomAlias = (s: string): s is RoomAlias => ROOM_ALIAS.test(s);
export const isMxcUri = (s: string): s is MxcUri => MXC_URI.test(s);

function parser<T extends string>(guard: (s: string) => s is T, what: string) {
  return (s: string): T => {
    if (!guard(s)) throw new TypeError(`not a Matrix ${what}: ${JSON.stringify(s)}`);
    return s;
  };
}

/** Validating conversions for strings read from storage or config; throw `TypeError`. */
export const parseUserId = parser(isUserId, 'user ID');
export const parseRoomId = parser(isRoomId, 'room ID');
export const parseEventId = parser(isEventId, 'event ID');
export const parseRoomAlias = parser(isRoomAlias, 'room alias');
export const parseMxcUri = parser(isMxcUri, 'content URI');

/** The server name of a user ID or alias (`example.org` in `@alice:example.org`). */
export function serverNameOf(id: UserId | RoomAlias): string {
  return id.slice(id.indexOf(':') + 1);
}

/** `GET /_matrix/client/versions`. */
export interface VersionsResponse {
  versions: string[];
  unstable_features?: Record<string, boolean>;
}

/** `GET /_matrix/client/v3/account/whoami`. */
export interface WhoamiResponse {
  user_id: UserId;
  device_id?: string;
  is_guest?: boolean;
}

/** `GET /_matrix/client/v3/profile/{userId}`. Both fields are absent when unset. */
export interface Profile {
  displayname?: string;
  avatar_url?: MxcUri;
}

/** One entry of `initial_state` in a createRoom body. */
export interface StateEventInput {
  type: string;
  /** Defaults to `""` on the wire when omitted; ferry always sets it. */
  state_key: string;
  content: JsonObject;
}

export type RoomPreset = 'private_chat' | 'trusted_private_chat' | 'public_chat';

/** `POST /_matrix/client/v3/createRoom` request body (the subset ferry uses). */
export interface CreateRoomBody {
  visibility?: 'public' | 'private';
  /** Localpart only: `_import_slack_c0123`, never `#…:server`. */
  room_alias_name?: string;
  name?: string;
  topic?: string;
  invite?: UserId[];
  room_version?: string;
  creation_content?: JsonObject;
  initial_state?: StateEventInput[];
  preset?: RoomPreset;
  is_direct?: boolean;
  power_level_content_override?: JsonObject;
}

/**
 * A room event as returned by `/messages`, `/state`, `/members`. `state_key` is present
 * exactly on state events.
 */
export interface ClientEvent {
  event_id: EventId;
  room_id: RoomId;
  sender: UserId;
  type: string;
  content: JsonObject;
  origin_server_ts: number;
  state_key?: string;
  unsigned?: JsonObject;
}

/** A page of `/messages`. `end` is absent when there is nothing further in `dir`. */
export interface MessagesPage {
  chunk: ClientEvent[];
  start: string;
  end?: string;
  state?: ClientEvent[];
}

export type Direction = 'b' | 'f';

/** The `RoomEventFilter` subset ferry passes to `/messages`. */
export interface RoomEventFilter {
  types?: string[];
  not_types?: string[];
  senders?: UserId[];
  not_senders?: UserId[];
  limit?: number;
}

/** A Matrix error body (`{"errcode": "M_FORBIDDEN", "error": "…"}`). */
export interface MatrixErrorBody {
  errcode?: string;
  error?: string;
  retry_after_ms?: number;
}
