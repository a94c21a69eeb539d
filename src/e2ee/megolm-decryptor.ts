/**
 * Decrypts `m.room.encrypted` events with the sessions of a room key export.
 *
 * An `m.megolm.v1.aes-sha2` event's content is `{algorithm, ciphertext, session_id, sender_key?,
 * device_id?, m.relates_to?}`; the ciphertext decrypts to the JSON `{type, content, room_id}` of
 * the clear event. Sessions are looked up by (room ID, session ID): a session is bound to the room
 * it was exported for, and both the event's room and the clear `room_id` must be that room, so a
 * message replayed into another room fails. The same message index under two event IDs is a
 * replay and fails too; the same event decrypted again (a re-run) is fine. `m.relates_to` travels unencrypted (spec, "Mixing encrypted and
 * unencrypted relations"), so it is copied into the clear content when the plaintext lacks it.
 */
import { decodeBase64 } from './base64.js';
import type { DecryptOutcome, EventDecryptor } from './decryptor.js';
import { MEGOLM_V1, type ExportedSession } from './exported-session.js';
import { InboundSession } from './inbound-session.js';
import { parseMegolmMessage } from './megolm-message.js';

export type SessionLoadSkip = 'malformed_session' | 'session_id_mismatch';

export class MegolmDecryptor implements EventDecryptor {
  private readonly sessions = new Map<string, { roomId: string; session: InboundSession }>();
  /** `session_id:index` → the event ID first seen with it (replay detection). */
  private readonly seen = new Map<string, string>();
  /** Outcomes so far (one per call), for the run's report. */
  readonly outcomes: Record<DecryptOutcome['kind'], number> = {
    decrypted: 0,
    no_key: 0,
    failed: 0,
  };
  /** Exported sessions that could not be used, by reason. */
  readonly skipped: Partial<Record<SessionLoadSkip, number>> = {};

  constructor(sessions: Iterable<ExportedSession>) {
    for (const exported of sessions) this.add(exported);
  }

  /** Usable (room, session) pairs. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  decryptEvent(event: {
    room_id: string;
    content: unknown;
    event_id?: string;
    sender?: string;
  }): DecryptOutcome {
    const outcome = this.decrypt(event);
    this.outcomes[outcome.kind] += 1;
    return outcome;
  }

  private decrypt(event: { room_id: string; content: unknown; event_id?: string }): DecryptOutcome {
    const content = event.content;
    if (typeof content !== 'object' || content === null) return failed('content is not an object');
    const c = content as Record<string, unknown>;
    const algorithm = c['algorithm'];
    if (algorithm !== MEGOLM_V1) return failed(`unsupported algorithm ${String(algorithm)}`);
    const sessionId = c['session_id'];
    const ciphertext = c['ciphertext'];
    if (typeof sessionId !== 'string' || typeof ciphertext !== 'string') {
      return failed('session_id or ciphertext missing');
    }
    const known = this.sessions.get(sessionId);
    if (known === undefined) return { kind: 'no_key', sessionId };
    if (known.roomId !== event.room_id) return failed('the session belongs to another room');
    const session = known.session;
    const bytes = decodeBase64(ciphertext);
    if (bytes === undefined) return failed('ciphertext is not base64');
    const message = parseMegolmMessage(bytes);
    if (typeof message === 'string') return failed(message);
    if (message.index < session.firstIndex) return { kind: 'no_key', sessionId };
    const result = session.decrypt(message);
    if (!result.ok) return failed(result.reason);
    if (this.isReplay(sessionId, message.index, event.event_id)) {
      return failed(`message index ${message.index} was already used by another event`);
    }
    return clearEvent(result.plaintext, event.room_id, c['m.relates_to']);
  }

  private add(exported: ExportedSession): void {
    const session = InboundSession.fromSessionKey(exported.sessionKey);
    if (typeof session === 'string') return this.skip('malformed_session');
    if (session.sessionId !== exported.sessionId) return this.skip('session_id_mismatch');
    const known = this.sessions.get(exported.sessionId);
    // The same session exported twice (re-shared, forwarded): the earlier start decrypts more.
    if (known === undefined || session.firstIndex < known.session.firstIndex) {
      this.sessions.set(exported.sessionId, { roomId: exported.roomId, session });
    }
  }

  private isReplay(sessionId: string, index: number, eventId: string | undefined): boolean {
    if (eventId === undefined) return false;
    const k = `${sessionId}:${index}`;
    const first = this.seen.get(k);
    if (first === undefined) this.seen.set(k, eventId);
    return first !== undefined && first !== eventId;
  }

  private skip(reason: SessionLoadSkip): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }
}

function clearEvent(plaintext: string, roomId: string, relatesTo: unknown): DecryptOutcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(plaintext);
  } catch {
    return failed('decrypted payload is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null)
    return failed('decrypted payload is not an object');
  const { type, content, room_id } = parsed as Record<string, unknown>;
  if (typeof type !== 'string' || typeof content !== 'object' || content === null) {
    return failed('decrypted payload has no type or content');
  }
  if (room_id !== roomId) return failed('decrypted payload is for another room');
  const clear = { ...(content as Record<string, unknown>) };
  if (relatesTo !== undefined && clear['m.relates_to'] === undefined)
    clear['m.relates_to'] = relatesTo;
  return { kind: 'decrypted', type, content: clear };
}

function failed(reason: string): DecryptOutcome {
  return { kind: 'failed', reason };
}
