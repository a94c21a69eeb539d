/**
 * Where the Matrix-origin adapters disagree on how to read an event.
 *
 * The Element and matrix-archive adapters were written apart and made different choices for
 * inputs that are broken, legacy or ambiguous. Their outputs are tested and stored, so the
 * shared mapper keeps each adapter's behaviour exactly; every divergence is one named rule
 * here rather than a branch on "which adapter". Aligning the two is a behaviour change, to be
 * decided rule by rule (a re-ingest would then update stored rows).
 *
 * A live homeserver returns the same client-server events an Element export holds, so the
 * live source (`ferry ingest matrix`) reads with `HOMESERVER_RULES`, which is `ELEMENT_RULES`.
 */
export interface MatrixEventRules {
  /** Append a short note to a skip's `where` ("reaction without target or key"). */
  skipNotes: boolean;
  /** Skip reason of a reaction, redaction, edit or membership that lacks what it needs. */
  brokenReason: 'malformed_message' | 'unsupported_event';
  /**
   * Event IDs in relations (reaction, edit and redaction targets, replies) must look like
   * `$…`, or the relation is broken; when false any string is taken as an ID.
   */
  strictEventRefs: boolean;
  /**
   * `absent`: empty file names, media names and types and redaction reasons count as missing
   * (blank ones too), and an empty body is no caption. `kept`: any string is kept as given.
   */
  emptyStrings: 'absent' | 'kept';
  /** Sizes and dimensions: any non-negative number truncated, or safe integers only. */
  numbers: 'truncate' | 'integers';
  /**
   * An `m.room.message` whose content is `{}`: `redacted` (matrix-archive keeps the empty husk
   * of events redacted on the server) or `missing_content`.
   */
  emptyMessage: 'redacted' | 'missing_content';
  /** A message without `msgtype`: skipped, or a text message when it has a body. */
  noMsgtype: 'missing_content' | 'text_if_body';
  /** An unknown `msgtype` (not text, notice, emote or a file) without a string body. */
  unknownWithoutBody: 'unsupported_event' | 'missing_content';
  /** An `m.replace` edit without `m.new_content`: skipped, or its own body minus the `* `. */
  editWithoutNewContent: 'missing_content' | 'strip_marker';
  /** Remove the reply fallback (quoted `> ` lines, `<mx-reply>`) from the text of replies. */
  stripReplyFallback: boolean;
  /** `htmlFormat` of a `formatted_body` that names no `format`. */
  defaultHtmlFormat: string | undefined;
  /** A redaction's target when both the top-level `redacts` (≤ v10) and the content's exist. */
  redactsFrom: 'top_level_first' | 'content_first';
  /** Someone else's `leave` after a `ban` (an unban): skipped, or a leave. */
  unban: 'skip' | 'leave';
  /** Someone else's `leave` after an `invite` (a withdrawn invite): a kick, or a leave. */
  uninvite: 'kick' | 'leave';
  /** `m.room.name` / `m.room.topic` count only with the state key `''`. */
  roomStateNeedsEmptyKey: boolean;
  /** `m.room.name` without a string `name` (or topic without `topic`): cleared, or skipped. */
  missingRoomStateValue: 'empty' | 'skip';
}

/** Element exports, and the live homeserver reader (same events). */
export const ELEMENT_RULES: Readonly<MatrixEventRules> = {
  skipNotes: true,
  brokenReason: 'malformed_message',
  strictEventRefs: false,
  emptyStrings: 'absent',
  numbers: 'truncate',
  emptyMessage: 'missing_content',
  noMsgtype: 'missing_content',
  unknownWithoutBody: 'unsupported_event',
  editWithoutNewContent: 'missing_content',
  stripReplyFallback: false,
  defaultHtmlFormat: undefined,
  redactsFrom: 'top_level_first',
  unban: 'skip',
  uninvite: 'kick',
  roomStateNeedsEmptyKey: true,
  missingRoomStateValue: 'empty',
};

/** matrix-archive dumps (osteele exports, mongoexport, russelldavies raw events). */
export const ARCHIVE_RULES: Readonly<MatrixEventRules> = {
  skipNotes: false,
  brokenReason: 'unsupported_event',
  strictEventRefs: true,
  emptyStrings: 'kept',
  numbers: 'integers',
  emptyMessage: 'redacted',
  noMsgtype: 'text_if_body',
  unknownWithoutBody: 'missing_content',
  editWithoutNewContent: 'strip_marker',
  stripReplyFallback: true,
  defaultHtmlFormat: 'org.matrix.custom.html',
  redactsFrom: 'content_first',
  unban: 'leave',
  uninvite: 'leave',
  // osteele exports carry no state keys at all.
  roomStateNeedsEmptyKey: false,
  missingRoomStateValue: 'skip',
};

/**
 * The live homeserver reader (`ferry ingest matrix`). Deliberately the Element rules, not a
 * value of its own: Element's export writes the very client-server events that `/messages`
 * returns (same `unsigned`, same bundled edits, same state keys), so every choice above that
 * fits Element fits a homeserver, and only equal rules make an Element export of a room and a
 * live read of it give equal items (the store keeps one row per event either way, but with
 * other rules a re-read would rewrite rows). Change both together or neither.
 */
export const HOMESERVER_RULES: Readonly<MatrixEventRules> = ELEMENT_RULES;
