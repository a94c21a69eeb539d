/**
 * Branded identifiers of the intermediate model.
 *
 * Every key is a plain string at run time, but the brands keep a room key from being passed
 * where a user key is expected. Keys are built only by the adapter that owns the source
 * (`src/sources/<kind>/keys.ts`) and are never parsed anywhere else: treat them as opaque.
 *
 * Stability: a key is derived only from identifiers that the source itself keeps stable across
 * exports (Slack IDs and `ts`, Matrix room and event IDs). Re-ingesting the same or a newer
 * export therefore yields the same keys, which is what makes ingest idempotent and lets
 * several exports of the same Matrix room merge.
 */

import type { Brand } from './brand.js';

/** One ingested origin: a Slack workspace or org, an Element export, a matrix-archive dump. */
export type SourceKey = Brand<string, 'SourceKey'>;
/** A person or bot as the source knows them (`slack:U0123ABC`, `matrix:@alice:example.org`). */
export type UserKey = Brand<string, 'UserKey'>;
/** A conversation or a space (`slack:C0123ABC`, `matrix:!abc:example.org`). */
export type RoomKey = Brand<string, 'RoomKey'>;
/** A timeline event (`slack:C0123ABC:1700000000.123456`, `matrix:$eventid`). */
export type EventKey = Brand<string, 'EventKey'>;
/** A file or image referenced by events (`slack:F0123ABC`, `mxc://server/media`). */
export type MediaKey = Brand<string, 'MediaKey'>;

export const sourceKey = (s: string): SourceKey => s as SourceKey;
export const userKey = (s: string): UserKey => s as UserKey;
export const roomKey = (s: string): RoomKey => s as RoomKey;
export const eventKey = (s: string): EventKey => s as EventKey;
export const mediaKey = (s: string): MediaKey => s as MediaKey;
