/**
 * The contract between the Matrix-event mapper (src/sources/matrix-events) and whatever can
 * decrypt `m.room.encrypted` events. Types only: the implementation (Element key-export
 * files, the megolm ratchet) lives next to this file and is supplied by the caller, so the
 * mapper and the sources never depend on how keys are obtained.
 *
 * Who calls it: every Matrix-origin source (Element exports, matrix-archive dumps, the live
 * `ferry ingest matrix` reader) hands each `m.room.encrypted` event to `decryptEvent` when a
 * decryptor was configured, then maps the clear event as if it had arrived unencrypted (same
 * event ID, sender, timestamp and room; only `type` and `content` come from the outcome).
 * Without a decryptor, or on `no_key` / `failed`, the event becomes a counted skip
 * (`undecryptable`, reported per room and per reason in the ingest summary), never a silent drop.
 */

/**
 * What one decryption attempt gave. A closed union: callers switch on `kind` exhaustively.
 *
 * - `decrypted`: the clear event's `type` (e.g. `m.room.message`) and `content` (with its
 *   `m.relates_to`, which megolm keeps inside the ciphertext for most relations; the caller
 *   also honours a clear-text `m.relates_to` of the encrypted envelope).
 * - `no_key`: no megolm session is known for the event's `session_id` (the key export does not
 *   hold it, or holds only later ratchet indexes). Not an error: the event is counted.
 * - `failed`: the event cannot be decrypted whatever keys exist: bad MAC or signature,
 *   unknown algorithm (`m.olm.v1…` in a room), malformed content or ciphertext, a clear text
 *   that is not a JSON event, or a room ID that does not match the session's. `reason` is a
 *   short human text for logs and reports; it never holds key material or clear text.
 */
export type DecryptOutcome =
  | { kind: 'decrypted'; type: string; content: Record<string, unknown> } // the clear event's type and content
  | { kind: 'no_key'; sessionId: string } // no megolm session for it
  | { kind: 'failed'; reason: string }; // bad MAC, unknown algorithm, malformed

/**
 * Decrypts room events. Implementations hold their keys in memory and must be safe to call
 * for events in any order (sources read history backwards and forwards) and many times for the
 * same event (re-runs). They never log clear text or keys.
 */
export interface EventDecryptor {
  /**
   * Decrypts one m.room.encrypted event (its room_id and content as received). Synchronous.
   *
   * `room_id` is checked against the session's room (a replayed ciphertext from another room
   * is `failed`); `event_id` and `sender` are for the implementation's own bookkeeping and
   * error texts (replay detection: the same megolm index under two event IDs is `failed`).
   */
  decryptEvent(event: {
    room_id: string;
    content: unknown;
    event_id?: string;
    sender?: string;
  }): DecryptOutcome;
}
