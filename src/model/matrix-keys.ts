/**
 * Model keys for everything that comes from Matrix, whichever adapter reads it (an Element
 * export, a matrix-archive dump, …).
 *
 * Contract: a Matrix identifier becomes the same key in every Matrix-origin adapter, so that
 * several exports of one room (made by different users, at different times, in different
 * formats) merge in the store and their shared events dedupe. Only globally unique Matrix
 * identifiers are used, never anything export-specific:
 *
 * | Record | Key                    | Stable because                                      |
 * |--------|------------------------|-----------------------------------------------------|
 * | room   | `matrix:<room_id>`     | room IDs never change (`!opaque:server`)            |
 * | event  | `matrix:<event_id>`    | event IDs are unique across all rooms and servers   |
 * | user   | `matrix:<mxid>`        | `@localpart:server`, case as sent by the server     |
 * | media  | the `mxc://` URI       | content-addressed by server + media ID              |
 *
 * Identifiers are used verbatim (no case folding, no normalisation): Matrix compares them
 * bytewise. Adapters validate the shape (`isMatrixUserId` …) before building a key and skip
 * what does not fit; keys are never parsed back (see src/model/ids.ts).
 *
 * Order: Matrix timestamps are milliseconds and may collide, so the event ID breaks ties.
 * Every adapter must use `matrixOrder`, or the same event would get two positions.
 */
import {
  eventKey,
  mediaKey,
  orderKeyFromMillis,
  roomKey,
  userKey,
  type EventKey,
  type MediaKey,
  type OrderKey,
  type RoomKey,
  type UserKey,
} from './index.js';

/** `!room:server` → `matrix:!room:server`. */
export const matrixRoomKey = (roomId: string): RoomKey => roomKey(`matrix:${roomId}`);

/** `$event` (room v3+) or `$event:server` (v1/v2) → `matrix:$event…`. */
export const matrixEventKey = (eventId: string): EventKey => eventKey(`matrix:${eventId}`);

/** `@alice:example.org` → `matrix:@alice:example.org`. */
export const matrixUserKey = (mxid: string): UserKey => userKey(`matrix:${mxid}`);

/** An `mxc://server/mediaId` URI is its own key (checked with `isMxcUri` first). */
export const matrixMediaKey = (mxc: string): MediaKey => mediaKey(mxc);

/** Position of an event in its room: `origin_server_ts`, then the event ID. */
export const matrixOrder = (originServerTs: number, eventId: string): OrderKey =>
  orderKeyFromMillis(originServerTs, eventId);

/** `@local:server` with a non-empty localpart and server name. */
export const isMatrixUserId = (s: string): boolean => /^@[^:]+:.+$/.test(s);

/** `!opaque:server` (the server part is optional from room v12 on). */
export const isMatrixRoomId = (s: string): boolean => /^![^\s]+$/.test(s);

/** `$opaque` or `$opaque:server`. */
export const isMatrixEventId = (s: string): boolean => /^\$[^\s]+$/.test(s);

/** `mxc://server/mediaId`. */
export const isMxcUri = (s: string): boolean => /^mxc:\/\/[^/\s]+\/[^/\s]+$/.test(s);

/** `@alice:example.org` → `alice` (what the user record's `handle` holds). */
export function matrixLocalpart(mxid: string): string {
  const colon = mxid.indexOf(':');
  return mxid.slice(mxid.startsWith('@') ? 1 : 0, colon < 0 ? undefined : colon);
}
