export type DecryptOutcome =
  | { kind: 'decrypted'; type: string; content: Record<string, unknown> } // the clear event's type and content
  | { kind: 'no_key'; sessionId: string } // no megolm session for it
  | { kind: 'failed'; reason: string }; // bad MAC, unknown algorithm, malformed
export interface EventDecryptor {
  /** Decrypts one m.room.encrypted event (its room_id and content as received). Synchronous. */
  decryptEvent(event: {
    room_id: string;
    content: unknown;
    event_id?: string;
    sender?: string;
  }): DecryptOutcome;
}
