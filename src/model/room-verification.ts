/**
 * What `ferry verify` found in one room, shared by the verifier (`src/matrix/verify.ts`), which
 * counts it, and the store (`src/store/verify-results.ts`), which keeps the last result of each
 * room for `ferry report`.
 */
/**
 * The findings for one room. Counts are of Matrix events (ledger rows), not of model events: a
 * message split in two parts counts twice.
 */
export interface RoomVerification {
  /** Room key in the store. */
  room: string;
  room_id: string | null;
  /** Ledger rows of the room with status `sent`. */
  expected: number;
  /** Expected rows whose provenance was found in the room. */
  found: number;
  /** Expected rows whose provenance is not in the room (or the room could not be read). */
  missing: number;
  /**
   * Extra copies of a provenance (two events with the same `key#part` count 1). Repeated
   * `m.room.member` events are not copies: a profile change re-sends the join with its content.
   */
  duplicated: number;
  /**
   * Ferry events whose ledger order key is lower than the highest one seen earlier in the
   * timeline. End-of-room state (`~pins`, `~archive`), synthetic member events and relation-like
   * events (reactions, edits, pins, redactions, which the writer may append late on purpose) are
   * left out of this check.
   */
  out_of_order: number;
  /** Found events sent as another Matrix user than the ledger records. */
  wrong_sender: number;
  /** Found events whose `origin_server_ts` differs from the ledger's `ts` (end-of-room state excepted). */
  wrong_ts: number;
  /** Store events of the room with no ledger row at all (neither sent nor skipped); pins excepted. */
  not_pushed: number;
  /** Store events older than what the room showed when they arrived (incremental ingest): not sent, not a failure. */
  late: number;
  /** Room events without provenance not sent by the bot (someone else posted): informational. */
  foreign: number;
  /** Up to 5 human-readable lines describing the first problems found. */
  examples: string[];
}
