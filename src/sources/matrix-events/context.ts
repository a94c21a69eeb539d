/**
 * What the shared Matrix-event mapper needs from the source that calls it.
 *
 * The mapper is pure apart from the sets below, which the caller creates once per room (or
 * per export) and which keep the output free of duplicates across events.
 */
import type { EventDecryptor } from '../../e2ee/decryptor.js';
import type {
  LossItem,
  MediaAvailability,
  MediaKey,
  RoomKey,
  SourceKey,
  UndecryptableWhy,
} from '../../model/index.js';
import type { JsonObject } from './json-guards.js';
import type { MatrixEvent } from './matrix-event.js';
import type { MatrixEventRules } from './rules.js';

/** Where a file event's body is, as only the source knows (see `MediaResolver`). */
export interface ResolvedMedia {
  key: MediaKey;
  /** The media record's `nativeId` (the mxc URI, or whatever identifies the body). */
  nativeId: string;
  availability: MediaAvailability;
  /** Entry path of the body in the source's archive or media folder. */
  localPath?: string;
  /** A download URL when the body is elsewhere. */
  remoteUrl?: string;
  /** Losses to report for this file (body not in the export, encrypted file, …). */
  losses: LossItem[];
}

/** A file-like event the source resolves: `m.image`/`m.file`/… messages and stickers. */
export interface MediaRef {
  event: MatrixEvent;
  /** The content that describes the file (an edited message's latest content). */
  content: JsonObject;
  /** `m.image`, `m.video`, `m.audio`, `m.file`, or `m.sticker`. */
  mode: string;
  /** The `where` of the event, for losses. */
  where: string;
}

/** A file event whose body no one can read: an `undecryptable` skip of the event, per room. */
export interface UnreadableMedia {
  undecryptable: UndecryptableWhy;
  note: string;
}

/**
 * Resolves a file event to its media, to why its body cannot be had (`UnreadableMedia`), or to
 * undefined when nothing identifies a body.
 */
export type MediaResolver = (ref: MediaRef) => ResolvedMedia | UnreadableMedia | undefined;

export interface MatrixEventContext {
  source: SourceKey;
  /** The room events are stored in (the canonical room when rooms are merged). */
  room: RoomKey;
  /** The room's own Matrix ID (what a decryptor checks the session against). */
  roomId: string;
  rules: Readonly<MatrixEventRules>;
  media: MediaResolver;
  /** Decrypts `m.room.encrypted` events; without one they are counted as undecryptable. */
  decryptor?: EventDecryptor;
  /**
   * Called with a membership event's target (and the display name it sets) before its event
   * is returned, for sources that emit user records as they meet users.
   */
  onMember?: (mxid: string, displayName: string | undefined) => void;
  /** Messages whose content already is their latest edit (a bundled `m.replace`). */
  editedMessages: Set<string>;
  /** Media keys already yielded; when absent, every file event yields its media record. */
  emittedMedia?: Set<string>;
  /**
   * Thread roots that replies point at → whether the root was mapped yet; a reply whose root
   * has not come before it counts in `orphanReplies`. Absent: nothing is counted.
   */
  threadRoots?: Map<string, boolean>;
  orphanReplies: number;
}
