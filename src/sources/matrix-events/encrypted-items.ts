/**
 * `m.room.encrypted` events: decrypted through the context's decryptor and mapped as the
 * clear event, or counted as `undecryptable` per room and per reason (never dropped silently).
 *
 * Decision: an event that stays encrypted is a counted skip, not a visible placeholder in
 * the migrated room. A placeholder per undecryptable event would flood rooms whose keys were
 * never exported, and a later ingest with keys adds the real events under the same keys (push
 * then counts them as late, `--append-late` writes them), which a placeholder would block.
 */
import type { SourceItem } from '../../model/index.js';
import type { MatrixEventContext } from './context.js';
import { obj } from './json-guards.js';
import type { MatrixEvent } from './matrix-event.js';
import { undecryptable, type Skip } from './skip.js';

export function encryptedItems(
  event: MatrixEvent,
  ctx: MatrixEventContext,
  where: string,
  skip: Skip,
  mapClear: (clear: MatrixEvent) => SourceItem[],
): SourceItem[] {
  const decryptor = ctx.decryptor;
  if (decryptor === undefined) return undecryptable(where, ctx, 'no_decryptor');
  const outcome = decryptor.decryptEvent({
    room_id: event.roomId ?? ctx.roomId,
    content: event.content,
    event_id: event.eventId,
    sender: event.sender,
  });
  switch (outcome.kind) {
    case 'decrypted': {
      if (outcome.type === 'm.room.encrypted') {
        return undecryptable(where, ctx, 'failed', 'decrypts to another encrypted event');
      }
      return mapClear({
        ...event,
        type: outcome.type,
        content: withEnvelopeRelation(outcome.content, event.content),
      });
    }
    case 'no_key':
      return undecryptable(where, ctx, 'no_key', `no key for session ${outcome.sessionId}`);
    case 'failed':
      return undecryptable(where, ctx, 'failed', outcome.reason);
    default: {
      const unknown: never = outcome;
      return skip('undecryptable', `unknown outcome ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Relations may be left in clear on the envelope (Matrix spec, "m.relates_to" of encrypted
 * events): the clear-text relation wins only when the decrypted content has none.
 */
function withEnvelopeRelation(
  clear: Record<string, unknown>,
  envelope: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const relation = obj(envelope?.['m.relates_to']);
  if (relation === undefined || clear['m.relates_to'] !== undefined) return clear;
  return { ...clear, 'm.relates_to': relation };
}
