/**
 * The sessions inside a room key export: a JSON array of objects (Matrix spec "Key exports",
 * `SessionData` with `room_id` and `session_id`):
 *
 *   { algorithm: "m.megolm.v1.aes-sha2", room_id, sender_key, session_id,
 *     session_key,                         // megolm "session export format", base64
 *     sender_claimed_keys: { ed25519 },    // the sending device's key, as claimed
 *     forwarding_curve25519_key_chain: [] }
 *
 * Entries ferry cannot use (another algorithm, missing fields) are counted by reason, not fatal:
 * Element's own import skips them the same way.
 */
import { FerryError } from '../errors.js';

export const MEGOLM_V1 = 'm.megolm.v1.aes-sha2';

export interface ExportedSession {
  readonly roomId: string;
  readonly sessionId: string;
  /** Curve25519 key of the sending device (informational; not needed to decrypt). */
  readonly senderKey: string;
  /** Base64 megolm session export: version 1, first index, ratchet, ed25519 key. */
  readonly sessionKey: string;
  /** The devices the key was forwarded through; empty when it came from the sender. */
  readonly forwardingChain: readonly string[];
  readonly senderClaimedEd25519: string | undefined;
}

export type SessionSkipReason = 'unsupported_algorithm' | 'malformed_session';

export interface ParsedExport {
  readonly sessions: ExportedSession[];
  readonly skipped: Partial<Record<SessionSkipReason, number>>;
}

/** Parses the decrypted JSON text of a key export. `file` names it in errors. */
export function parseExportedSessions(json: string, file: string): ParsedExport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new FerryError('input_invalid', `${file}: the decrypted key data is not JSON`);
  }
  if (!Array.isArray(parsed)) {
    throw new FerryError(
      'input_invalid',
      `${file}: the decrypted key data is not a list of sessions`,
    );
  }
  const sessions: ExportedSession[] = [];
  const skipped: Partial<Record<SessionSkipReason, number>> = {};
  for (const entry of parsed) {
    const result = toSession(entry);
    if (typeof result === 'string') skipped[result] = (skipped[result] ?? 0) + 1;
    else sessions.push(result);
  }
  return { sessions, skipped };
}

function toSession(entry: unknown): ExportedSession | SessionSkipReason {
  if (typeof entry !== 'object' || entry === null) return 'malformed_session';
  const e = entry as Record<string, unknown>;
  if (e['algorithm'] !== MEGOLM_V1) return 'unsupported_algorithm';
  const { room_id, session_id, session_key, sender_key } = e;
  if (typeof room_id !== 'string' || typeof session_id !== 'string') return 'malformed_session';
  if (typeof session_key !== 'string') return 'malformed_session';
  const chain = e['forwarding_curve25519_key_chain'];
  const claimed = e['sender_claimed_keys'];
  const ed25519 =
    typeof claimed === 'object' && claimed !== null
      ? (claimed as Record<string, unknown>)['ed25519']
      : undefined;
  return {
    roomId: room_id,
    sessionId: session_id,
    senderKey: typeof sender_key === 'string' ? sender_key : '',
    sessionKey: session_key,
    forwardingChain: Array.isArray(chain) ? chain.filter((k) => typeof k === 'string') : [],
    senderClaimedEd25519: typeof ed25519 === 'string' ? ed25519 : undefined,
  };
}
