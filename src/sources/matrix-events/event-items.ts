/**
 * The shared Matrix-event mapper: one room event → the model items it becomes (a timeline
 * event, its media record and losses) or a skip with a named reason. Every Matrix-origin
 * source (Element exports, matrix-archive dumps, the live homeserver reader) maps through
 * here, so one Matrix event becomes the same items whichever source read it, up to the
 * per-source rules in rules.ts.
 */
import type { EventBase, Membership, SourceItem } from '../../model/index.js';
import {
  isMatrixUserId,
  matrixEventKey,
  matrixOrder,
  matrixUserKey,
} from '../../model/matrix-keys.js';
import type { MatrixEventContext } from './context.js';
import { encryptedItems } from './encrypted-items.js';
import { nonEmpty, obj, str } from './json-guards.js';
import type { MatrixEvent } from './matrix-event.js';
import { eventRef, fileItems, messageItems, relationsOf } from './message-items.js';
import { skipper, type Skip } from './skip.js';

/**
 * Maps one event. `where` names it in skips and losses (`<input>: <event id>`, never
 * secret-bearing). The caller has already checked that the event belongs to the room.
 */
export function matrixEventItems(
  event: MatrixEvent,
  ctx: MatrixEventContext,
  where: string,
): SourceItem[] {
  const skip = skipper(where, ctx);
  if (ctx.threadRoots?.has(event.eventId) === true) ctx.threadRoots.set(event.eventId, true);
  if (event.redacted) return skip('redacted');
  if (event.content === undefined && event.type !== 'm.room.redaction') {
    return skip('missing_content');
  }
  const content = event.content ?? {};
  const base: EventBase = {
    key: matrixEventKey(event.eventId),
    room: ctx.room,
    sender: matrixUserKey(event.sender),
    order: matrixOrder(event.ts, event.eventId),
    ts: event.ts,
    source: ctx.source,
    nativeId: event.eventId,
  };

  switch (event.type) {
    case 'm.room.encrypted':
      return encryptedItems(event, ctx, where, skip, (clear) =>
        matrixEventItems(clear, ctx, where),
      );
    case 'm.room.message':
      return messageItems(event, base, ctx, where, skip);
    case 'm.sticker': {
      const related = { ...base, ...relationsOf(obj(content['m.relates_to']), content, ctx) };
      return fileItems(event, related, content, 'm.sticker', ctx, where, skip);
    }
    case 'm.reaction':
      return reactionItems(content, base, ctx, skip);
    case 'm.room.redaction':
      return redactionItems(event, content, base, ctx, skip);
    case 'm.room.member':
      return memberItems(event, content, base, ctx, skip);
    case 'm.room.name':
    case 'm.room.topic':
      return roomStateItems(event, content, base, ctx, skip);
    default:
      // Call signalling, widgets, receipts of the 2018 era, other state.
      return skip('unsupported_event', event.type);
  }
}

function reactionItems(
  content: Record<string, unknown>,
  base: EventBase,
  ctx: MatrixEventContext,
  skip: Skip,
): SourceItem[] {
  const relation = obj(content['m.relates_to']);
  const target = eventRef(relation?.event_id, ctx.rules);
  const key = str(relation?.key);
  if (relation?.rel_type !== 'm.annotation' || target === undefined || key === undefined) {
    return skip(ctx.rules.brokenReason, 'reaction without target or key');
  }
  return [
    {
      type: 'event',
      event: { ...base, kind: 'reaction', target, reaction: { format: 'unicode', key } },
    },
  ];
}

function redactionItems(
  event: MatrixEvent,
  content: Record<string, unknown>,
  base: EventBase,
  ctx: MatrixEventContext,
  skip: Skip,
): SourceItem[] {
  // Room versions up to 10 put `redacts` at the top; v11 moved it into the content.
  const raw =
    ctx.rules.redactsFrom === 'top_level_first'
      ? (event.redacts ?? content.redacts)
      : (content.redacts ?? event.redacts);
  const target = eventRef(raw, ctx.rules);
  if (target === undefined) return skip(ctx.rules.brokenReason, 'redaction without target');
  const reason =
    ctx.rules.emptyStrings === 'absent' ? nonEmpty(content.reason) : str(content.reason);
  return [
    {
      type: 'event',
      event: { ...base, kind: 'redaction', target, ...(reason === undefined ? {} : { reason }) },
    },
  ];
}

function memberItems(
  event: MatrixEvent,
  content: Record<string, unknown>,
  base: EventBase,
  ctx: MatrixEventContext,
  skip: Skip,
): SourceItem[] {
  const target = event.stateKey;
  if (target === undefined || !isMatrixUserId(target)) {
    return skip(ctx.rules.brokenReason, 'membership without a user');
  }
  const membership = str(content.membership);
  const previous = str(obj(event.unsigned.prev_content)?.membership);
  let mapped: Membership;
  switch (membership ?? '') {
    case 'join':
      // A join after a join is a display name or avatar change.
      if (previous === 'join') return skip('unsupported_event', 'profile change');
      mapped = 'join';
      break;
    case 'invite':
      mapped = 'invite';
      break;
    case 'ban':
      mapped = 'ban';
      break;
    case 'leave':
      if (target === event.sender) mapped = 'leave';
      else if (previous === 'ban') {
        if (ctx.rules.unban === 'skip') return skip('unsupported_event', 'unban');
        mapped = 'leave';
      } else if (previous === 'invite') mapped = ctx.rules.uninvite;
      else mapped = 'kick';
      break;
    default:
      return skip('unsupported_event', `membership ${membership ?? '(none)'}`);
  }
  ctx.onMember?.(target, str(content.displayname));
  return [
    {
      type: 'event',
      event: { ...base, kind: 'membership', membership: mapped, target: matrixUserKey(target) },
    },
  ];
}

function roomStateItems(
  event: MatrixEvent,
  content: Record<string, unknown>,
  base: EventBase,
  ctx: MatrixEventContext,
  skip: Skip,
): SourceItem[] {
  if (ctx.rules.roomStateNeedsEmptyKey && event.stateKey !== '') {
    return skip('unsupported_event', `${event.type} with a state key`);
  }
  const field = event.type === 'm.room.name' ? 'name' : 'topic';
  const value = str(content[field]);
  if (value === undefined && ctx.rules.missingRoomStateValue === 'skip') {
    return skip('unsupported_event', `${event.type} without ${field}`);
  }
  const previous = str(obj(event.unsigned.prev_content)?.name);
  const change =
    field === 'name'
      ? {
          field: 'name' as const,
          name: value ?? '',
          ...(previous === undefined ? {} : { previous }),
        }
      : { field: 'topic' as const, topic: value ?? '' };
  return [{ type: 'event', event: { ...base, kind: 'room_state', change } }];
}
