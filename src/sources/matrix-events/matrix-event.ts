/**
 * One Matrix room event as the shared mapper reads it, whichever source produced it.
 *
 * Sources that hold real client-server events (Element exports, the live homeserver reader)
 * build it with `parseMatrixEvent`; sources that lost part of the event (matrix-archive) fill
 * it from what they have. Only the fields below are ever looked at.
 */
import { isMatrixEventId, isMatrixUserId } from '../../model/matrix-keys.js';
import { count, nonEmpty, obj, str, type JsonObject } from './json-guards.js';

export interface MatrixEvent {
  eventId: string;
  type: string;
  /** Full MXID (`@local:server`). */
  sender: string;
  /** `origin_server_ts`, ms since the epoch. */
  ts: number;
  roomId: string | undefined;
  stateKey: string | undefined;
  /**
   * The event content; `undefined` only when the source lost it (matrix-archive deletes
   * content it cannot rewrite). A real event with no content has `{}`.
   */
  content: JsonObject | undefined;
  /**
   * `unsigned` as the server sent it: `prev_content`, `redacted_because`, and the bundled
   * `m.relations` (the latest `m.replace` edit). Sources that kept none of it pass `{}`.
   */
  unsigned: JsonObject;
  /** Top-level `redacts` of a pre-v11 redaction. */
  redacts: string | undefined;
  /** The event was redacted before it was read (`redacted_because`). */
  redacted: boolean;
}

/**
 * A client-server event (`unknown` JSON) → MatrixEvent, or undefined when it lacks a valid
 * `event_id`, `type`, `sender` or `origin_server_ts` (the caller skips it as malformed).
 */
export function parseMatrixEvent(raw: unknown): MatrixEvent | undefined {
  const e = obj(raw);
  const eventId = str(e?.event_id);
  const type = nonEmpty(e?.type);
  const sender = str(e?.sender);
  const ts = count(e?.origin_server_ts);
  if (e === undefined || eventId === undefined || type === undefined || ts === undefined) {
    return undefined;
  }
  if (sender === undefined || !isMatrixEventId(eventId) || !isMatrixUserId(sender)) {
    return undefined;
  }
  const unsigned = obj(e.unsigned) ?? {};
  return {
    eventId,
    type,
    sender,
    ts,
    roomId: str(e.room_id),
    stateKey: str(e.state_key),
    content: obj(e.content) ?? {},
    unsigned,
    redacts: str(e.redacts),
    redacted: unsigned.redacted_because !== undefined,
  };
}

/** The latest edit the server bundled (`unsigned["m.relations"]["m.replace"]`). */
export function bundledEdit(event: MatrixEvent): JsonObject | undefined {
  return obj(obj(event.unsigned['m.relations'])?.['m.replace']);
}

/** The content to show: the bundled edit's `m.new_content` when there is one. */
export function finalContent(event: MatrixEvent): JsonObject {
  return obj(obj(bundledEdit(event)?.content)?.['m.new_content']) ?? event.content ?? {};
}

/** `content["m.relates_to"]` of a thread reply → its root's event ID. */
export function threadRootOf(content: JsonObject): string | undefined {
  const relation = obj(content['m.relates_to']);
  if (relation?.rel_type !== 'm.thread') return undefined;
  const root = str(relation.event_id);
  return root !== undefined && isMatrixEventId(root) ? root : undefined;
}
