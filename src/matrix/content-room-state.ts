/** Room name, topic and join-rule changes → state events, or a notice when there is no state equivalent. */
import { assertNever } from '../model/events.js';
import type { EventKey, RoomStateEvent } from '../model/index.js';
import { provenance, send } from './content-draft.js';
import type { ContentContext, ContentOutcome } from './content-types.js';
import { PROVENANCE_KEY } from './content-types.js';

export function roomStateToMatrix(event: RoomStateEvent, ctx: ContentContext): ContentOutcome {
  const change = event.change;
  switch (change.field) {
    case 'name':
      if (change.name.trim() === '') return { outcome: 'skip', reason: 'empty_content' };
      return state(event.key, 'm.room.name', { name: change.name });
    case 'topic':
      return state(event.key, 'm.room.topic', { topic: change.topic });
    case 'purpose': {
      // Slack has a topic and a purpose, Matrix only a topic: the purpose fills it only when
      // the channel never had a topic of its own.
      if (ctx.room.topic === undefined || ctx.room.topic.trim() === '') {
        return state(event.key, 'm.room.topic', { topic: change.purpose });
      }
      const body =
        change.purpose.trim() === ''
          ? 'cleared the channel purpose'
          : `set the channel purpose: ${change.purpose}`;
      return notice(event.key, body);
    }
    case 'archived':
      return notice(event.key, change.archived ? 'archived the channel' : 'unarchived the channel');
    case 'visibility':
      return state(event.key, 'm.room.join_rules', {
        join_rule: change.private ? 'invite' : 'public',
      });
    default:
      return assertNever(change);
  }
}

export function state(
  key: EventKey,
  type: string,
  content: Record<string, unknown>,
): ContentOutcome {
  const withProvenance = { ...content, [PROVENANCE_KEY]: provenance(key, 0) };
  return {
    outcome: 'send',
    sends: [{ kind: 'state', part: 0, type, stateKey: '', content: withProvenance }],
  };
}

export function notice(key: EventKey, body: string): ContentOutcome {
  return send(key, {
    msgtype: 'm.notice',
    text: { body },
    shared: {},
    relations: { orphan: false },
  });
}
