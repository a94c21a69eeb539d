/** Messages (text, emote, notice, tombstones) → `m.room.message`. */
import type { MessageEvent, MessageType } from '../model/index.js';
import { send } from './content-draft.js';
import { relationsOf } from './content-relations.js';
import { decorate, isBlank, renderSourceText, suffixText } from './content-text.js';
import type { ContentContext, ContentOutcome } from './content-types.js';
import { EDITED_TS_KEY, TOMBSTONE_BODY } from './content-types.js';

const MSGTYPES: Record<MessageType, string> = {
  text: 'm.text',
  emote: 'm.emote',
  notice: 'm.notice',
};

export function messageToMatrix(event: MessageEvent, ctx: ContentContext): ContentOutcome {
  const relations = relationsOf(event, ctx);
  if (event.tombstone === true) {
    return send(event.key, {
      msgtype: 'm.notice',
      text: { body: TOMBSTONE_BODY },
      shared: {},
      relations,
    });
  }
  let text = renderSourceText(event.content, ctx);
  if (isBlank(text)) return { outcome: 'skip', reason: 'empty_content' };

  text = decorate(text, event, ctx, relations.orphan);
  const shared: Record<string, unknown> = {};
  if (event.edited !== undefined) {
    text = suffixText(text, ' (edited)', ' <sub>(edited)</sub>');
    shared[EDITED_TS_KEY] = event.edited.at;
  }
  return send(event.key, { msgtype: MSGTYPES[event.msgtype], text, shared, relations });
}
