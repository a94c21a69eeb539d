/**
 * What a source adapter yields: one stream of items, in an order that respects references
 * (a user or room is yielded before the events that name it, except placeholder users which
 * an adapter may only discover at the end).
 *
 * Adapters never load a whole export; they yield items as they parse and keep only ID maps.
 * Skips are items too, so `ferry check` and `ferry ingest` count exactly the same things.
 */
import type { MediaRecord, RoomRecord, SourceRecord, UserRecord } from './entities.js';
import type { EventReportKind, TimelineEvent } from './events.js';
import type { RoomKey } from './ids.js';
import type { Watermark } from './watermark.js';

/**
 * Why something in the input is not carried over. Closed so reports have stable keys; the
 * README documents each one.
 */
export type SkipReason =
  /** A Slack message subtype that only logs integration changes (`bot_add`, `bot_remove`…). */
  | 'integration_log'
  /** Huddle/call records and other ephemeral system posts with nothing to show. */
  | 'call_record'
  /** A message with no text, no files and no blocks. */
  | 'empty_message'
  /** The same message appears twice (API-derived exports repeat broadcasts). */
  | 'duplicate'
  /** A reaction by a user the export does not know. */
  | 'reaction_unknown_user'
  /** A message that failed to parse in a way that loses it (named in the detail). */
  | 'malformed_message'
  /** A day file that could not be parsed and was skipped on request (`--skip-bad-files`). */
  | 'bad_file'
  /** Root files and folders that ferry does not read (canvases.json, unknown folders…). */
  | 'unsupported_entry'
  /** A conversation folder that no index file lists. */
  | 'unlisted_conversation'
  /** Slack user `U00` etc.: messages the exporter itself marks as broken. */
  | 'invalid_sender'
  /** Matrix events the exporter could not decrypt (`m.room.encrypted`, `m.bad.encrypted`). */
  | 'undecryptable'
  /** Matrix event types ferry does not carry over (call signalling, widgets, receipts…). */
  | 'unsupported_event'
  /** Records whose content the exporter lost (matrix-archive drops `content` it cannot read). */
  | 'missing_content'
  /** Events already redacted in the export (empty content): nothing left to show. */
  | 'redacted';

export interface SkipItem {
  type: 'skip';
  reason: SkipReason;
  /** Where: an archive entry or a native ID; never secret-bearing. */
  where: string;
  /** How many things this skip covers (default 1). */
  count?: number;
  /**
   * Set on every `undecryptable` skip of a Matrix-origin adapter: the room and why, so the
   * summary can count them per room and per reason (`undecryptable` key).
   */
  undecryptable?: { room: RoomKey; why: UndecryptableWhy };
}

/**
 * Why an encrypted Matrix event stayed encrypted. Closed; the README documents each.
 * - `no_decryptor`: no room keys were given (`m.room.encrypted` read without a decryptor);
 * - `no_key`: the keys given hold no megolm session for it;
 * - `failed`: it cannot be decrypted (bad MAC, unknown algorithm, malformed);
 * - `exporter`: the exporter itself could not decrypt it (Element's `m.bad.encrypted`);
 * - `attachment_not_in_export`: an encrypted attachment (`content.file`) whose decrypted file
 *   the export does not hold; its ciphertext is only on the source homeserver.
 */
export type UndecryptableWhy =
  'no_decryptor' | 'no_key' | 'failed' | 'exporter' | 'attachment_not_in_export';

/**
 * Something carried over only in part. The event is still written; the report says what of it
 * could not be. Closed, with stable keys, like SkipReason.
 */
export type LossReason =
  /** File body hidden by Slack's free-plan limit: only a placeholder can be posted. */
  | 'file_hidden_by_limit'
  /** File deleted in the source. */
  | 'file_tombstone'
  /** The exporter could not see the file. */
  | 'file_access_denied'
  /** File lives in another service (Google Drive…): posted as a link. */
  | 'file_external'
  /** File body not in the export: it must be downloaded from its URL at push time. */
  | 'file_body_not_in_export'
  /** Only the final text of an edited message survives. */
  | 'edit_history'
  /** Slack lists only some of the users who reacted (`count` > `users.length`). */
  | 'reaction_users_truncated'
  /** Thread replies whose root message is not in the export (posted with a marker). */
  | 'thread_root_missing';

export interface LossItem {
  type: 'loss';
  reason: LossReason;
  where: string;
  count?: number;
}

export type SourceItem =
  | { type: 'source'; source: SourceRecord }
  | { type: 'user'; user: UserRecord }
  | { type: 'room'; room: RoomRecord }
  | { type: 'media'; media: MediaRecord }
  | { type: 'event'; event: TimelineEvent }
  | { type: 'event_rows'; rows: EventRows }
  | SkipItem
  | LossItem
  /**
   * Everything yielded so far may be committed, together with this watermark (live sources
   * only). The ingest commits at each checkpoint and starts a new transaction for what follows;
   * adapters yield one only after every item the watermark covers (placeholder users included).
   */
  | { type: 'checkpoint'; watermark: Watermark }
  /** Progress hint: how much of the input has been read (entries or bytes). */
  | { type: 'progress'; done: number; total: number; unit: 'entries' | 'bytes'; label?: string };

/**
 * Events that an adapter has already serialised for the store, off the main thread (a worker
 * mapped and encoded a whole Slack day file). Consumers treat `count` events exactly as if each
 * had been yielded as an `event` item: the figures below are what the summary needs, and the
 * ingest copies `data` as it is. Only the bulk path of a large export produces these; an
 * adapter never mixes the two forms for one event.
 */
export interface EventRows {
  /**
   * The events as COPY text lines of the store's `events` table, in order, WITHOUT the run
   * columns (src/store/event-rows.ts writes and completes them). UTF-8.
   */
  data: Uint8Array;
  count: number;
  /** Events by report kind (as `reportKindOf`). */
  kinds: Partial<Record<EventReportKind, number>>;
  /** Events that belong to a thread but are not its root. */
  threadReplies: number;
  /** Smallest and largest `ts` (ms); +/-Infinity when `count` is 0. */
  minTs: number;
  maxTs: number;
}
