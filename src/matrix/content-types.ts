/**
 * The contract of the content builder (event-content.ts and the content-*.ts modules by event
 * kind): what it asks of the room writer (`ContentContext`) and what it answers (`ContentOutcome`).
 */
import { type MentionResolver } from '../mapping/slack-format.js';
import type { EventKey, MediaKey, MediaRecord, RoomRecord, UserKey } from '../model/index.js';

/** Content key that carries ferry's provenance in every event it sends (used to reconcile after a crash). */
export const PROVENANCE_KEY = 'ferry.source';

/**
 * Content key with the time (ms since the epoch) a message was last edited in the source, on
 * messages whose text is the final version of an edited message.
 */
export const EDITED_TS_KEY = 'ferry.edited_ts';

/** The value of `PROVENANCE_KEY`: which model event, and which part of it, a Matrix event is. */
export interface ProvenanceContent {
  key: EventKey;
  /** 0 for the first (or only) Matrix event of a model event; 1, 2, … for split parts. */
  part: number;
}

/**
 * What the content builder may ask the writer. Implementations must not throw for unknown keys:
 * "unknown" is answered with `undefined` and handled here.
 */
export interface ContentContext {
  /** The room being written (its current topic decides how a Slack purpose is rendered). */
  room: RoomRecord;
  /**
   * React with custom emoji images (the mxc URI as the annotation key, plus the shortcode for
   * clients that show text). Off by default: clients without image reactions show the raw URI.
   */
  imageReactions?: boolean;
  /** Ghost Matrix user ID of a model user. */
  mxidOf(user: UserKey): string;
  /** Display name the ghost of a model user has (or will have), if any. */
  displayNameOf(user: UserKey): string | undefined;
  /** Matrix event ID of an already-sent model event (part 0), or undefined if it was never sent. */
  eventIdOf(key: EventKey): string | undefined;
  /** Matrix event ID of the latest event sent in a thread (for the reply fallback), or undefined. */
  latestInThread(root: EventKey): string | undefined;
  /** Resolves Slack user/channel IDs inside Slack text to Matrix pills and links. */
  mentions: MentionResolver;
  /** The media record of a key and, when its body was uploaded, its mxc URI. */
  media(key: MediaKey): { record: MediaRecord; mxc?: string } | undefined;
  /**
   * Standard shortcode a custom Slack emoji name is an alias of (`ferry enrich slack --emoji`),
   * so such reactions show as the real emoji. Optional.
   */
  emojiAlias?(name: string): string | undefined;
  /**
   * Where an event of the old homeserver now lives, by its old event ID (`$…`, decoded), if it
   * was migrated (sent by ferry, in any room). Used to rewrite matrix.to links in Matrix-origin
   * text; the writer must have loaded every ID `linkedEventIds` names before converting an event.
   */
  migratedEvent(oldEventId: string): MigratedEvent | undefined;
}

/** The room and event ID a migrated event has on the new homeserver. */
export interface MigratedEvent {
  roomId: string;
  eventId: string;
}

/**
 * One Matrix event to send, in order. `part` is the value in the provenance key; the writer
 * derives the transaction ID from (event key, part), so it must be stable across runs.
 *
 * Split parts after the first carry the same thread relation as part 0 (so they stay in the
 * thread) with `m.in_reply_to` as computed before part 0 was sent; a writer that wants exact
 * reply fallbacks may point it at the previous part's event ID before sending.
 */
export type MatrixSend =
  | { kind: 'message'; part: number; type: string; content: Record<string, unknown> }
  | {
      kind: 'state';
      part: number;
      type: string;
      stateKey: string;
      content: Record<string, unknown>;
    };

/** Why an event produced nothing to send. Stable strings: they appear in reports. */
export type ContentSkipReason =
  /** A reaction whose target was never sent (skipped, failed, or not in the export). */
  | 'reaction_target_missing'
  /** An edit whose target was never sent. */
  | 'edit_target_missing'
  /** The event renders to nothing visible (empty text, empty reaction key, empty room name). */
  | 'empty_content';

export type ContentOutcome =
  | { outcome: 'send'; sends: MatrixSend[] }
  /** Nothing to send, with a stable reason for the report (e.g. 'reaction_target_missing', 'pin_at_end'). */
  | { outcome: 'skip'; reason: ContentSkipReason }
  /** Handled by the writer itself: memberships (join/leave need auth-rule handling) and pins (collected and sent as m.room.pinned_events at the end of the room). */
  | { outcome: 'writer'; handledBy: 'membership' | 'pin' | 'redaction' };

/** Visible prefix of a thread reply whose root is not in the room (orphan reply). */
export const ORPHAN_REPLY_PREFIX = '↪ Reply in a thread whose first message is not in the export: ';

/** Body of a placeholder for a deleted message that still has thread replies. */
export const TOMBSTONE_BODY = 'This message was deleted.';
