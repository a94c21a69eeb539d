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
