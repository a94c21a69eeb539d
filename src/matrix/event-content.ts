/**
 * One model event → the Matrix events that represent it.
 *
 * This is the pure half of the room writer: it decides *what* to send (event types, content,
 * relations, how a long message is split) and never does I/O. Everything it needs from the
 * outside world — ghost user IDs, event IDs of already-sent events, uploaded media — comes
 * through a `ContentContext`, so it is tested with a fake context and no homeserver.
 *
 * Invariants of every send it returns (see matrix-import.md §5):
 *
 * - Every content carries `[PROVENANCE_KEY]: { key, part }`: the model event key and the part
 *   number. On resume the writer reads the room's tail and matches these to its ledger (§5.10).
 * - Every `m.room.message` carries `"m.mentions": {}`. Imported history must notify nobody:
 *   pills stay in the HTML, but no user IDs (and never `room: true`) are listed, which also
 *   stops legacy body-matching push rules (§5.8). `m.reaction` carries none: it has no body
 *   for those rules to match, and Synapse validates every `m.mentions` against a JSON schema.
 * - Relations point only at events that were already sent (`ctx.eventIdOf`). A relation to an
 *   unknown event is a 400 from Synapse, so an unknown target is either skipped (reactions,
 *   edits) or rendered without the relation (threads, replies), never sent blindly.
 * - Every content is at most `MAX_CONTENT_BYTES` of UTF-8 JSON. Longer text is split into
 *   several parts; no text is ever dropped silently.
 *
 * Memberships, pins and redactions are not rendered here: they depend on room state the writer
 * tracks (auth rules, the pinned list, event IDs to redact) and come back as `writer` outcomes.
 */
import { assertNever } from '../model/events.js';
import type { TimelineEvent } from '../model/index.js';
import { editToMatrix } from './content-edit.js';
import { fileToMatrix } from './content-file.js';
import { messageToMatrix } from './content-message.js';
import { reactionToMatrix } from './content-reaction.js';
import { roomStateToMatrix } from './content-room-state.js';
import type { ContentContext, ContentOutcome } from './content-types.js';

/**
 * Renders one model event.
 *
 * - `message`, `file`, `edit` → `m.room.message` sends (split when too large);
 * - `reaction` → one `m.reaction`, or a skip when the target is unknown;
 * - `room_state` → a state event (`m.room.name`, `m.room.topic`, `m.room.join_rules`) or an
 *   `m.notice` when the change has no state equivalent;
 * - `membership`, `pin`, `redaction` → `writer`.
 *
 * Pure and deterministic: the same event and context answers give the same sends.
 */
export function eventToMatrix(event: TimelineEvent, ctx: ContentContext): ContentOutcome {
  switch (event.kind) {
    case 'message':
      return messageToMatrix(event, ctx);
    case 'file':
      return fileToMatrix(event, ctx);
    case 'reaction':
      return reactionToMatrix(event, ctx);
    case 'room_state':
      return roomStateToMatrix(event, ctx);
    case 'edit':
      return editToMatrix(event, ctx);
    case 'membership':
      return { outcome: 'writer', handledBy: 'membership' };
    case 'pin':
      return { outcome: 'writer', handledBy: 'pin' };
    case 'redaction':
      return { outcome: 'writer', handledBy: 'redaction' };
    default:
      return assertNever(event);
  }
}

export { linkedEventIds, matrixToEventIds } from './content-links.js';
export * from './content-types.js';
