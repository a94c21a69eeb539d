/**
 * How far a live source (the Slack Web API) has read one conversation. Written to the store in
 * the same transaction as the events it covers (a `checkpoint` item), so a watermark never
 * claims more than the store holds: after a crash (kill -9 included) the next run resumes
 * from the last committed checkpoint and re-reads at most one page.
 *
 * Slack `ts` strings are kept as the API gives them (`seconds.micros`); they order as numbers.
 */
import type { SourceKey } from './ids.js';

export interface ConversationWatermark {
  kind: 'slack_conversation';
  source: SourceKey;
  /** Native conversation ID (`C…`, `G…`, `D…`). */
  conversation: string;
  /**
   * Every message with `ts` ≤ this was fetched by a finished pass (undefined: none yet). The
   * next pass reads from here minus the refetch window.
   */
  complete?: string;
  /**
   * A pass that has not finished: the messages in (`low`, `top`] are stored, those in
   * (`floor`, `low`] are still to read. Passes read newest first.
   */
  pass?: { top: string; low: string; floor: string };
}

/**
 * How far the live Matrix source (`ferry ingest matrix`) has read one room, in the
 * homeserver's own pagination tokens (opaque strings from `/messages`' `start` and `end`).
 * Written in the transaction that commits the events it covers, like the Slack watermark.
 *
 * A first pass reads the room backwards from "now" (`/messages?dir=b`): `pass.top` is the
 * token of where it started, `pass.low` the `end` token of the last committed page (the next
 * page is read `dir=b` from there). When it reaches the creation event (or the user's
 * history-visibility wall) the pass is done and `complete` becomes `pass.top`. Later runs read
 * forwards (`dir=f`) from `complete`, each committed page moving it on to that page's `end`.
 */
export interface MatrixRoomWatermark {
  kind: 'matrix_room';
  source: SourceKey;
  /** The room's Matrix ID (`!opaque:server`). */
  roomId: string;
  /** Every event before this forward token was stored (undefined: no pass finished yet). */
  complete?: string;
  /** An unfinished backwards pass: events from `low` up to `top` stored, older ones to read. */
  pass?: { top: string; low: string };
}

/** What a `checkpoint` item carries: one watermark of a live source. Closed by `kind`. */
export type Watermark = ConversationWatermark | MatrixRoomWatermark;
