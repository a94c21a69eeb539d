/** Edits → `m.replace` events carrying the new text. */
import type { EditEvent } from '../model/index.js';
import { message, messageContent } from './content-draft.js';
import { contentBytes, MAX_CONTENT_BYTES, splitJsonText } from './content-size.js';
import type { RichText } from './content-text.js';
import { HTML_FORMAT, isBlank, renderSourceText } from './content-text.js';
import type { ContentContext, ContentOutcome } from './content-types.js';

const EDIT_TRUNCATED = ' … (truncated: this edit is too large for one Matrix event)';

export function editToMatrix(event: EditEvent, ctx: ContentContext): ContentOutcome {
  const target = ctx.eventIdOf(event.target);
  if (target === undefined) return { outcome: 'skip', reason: 'edit_target_missing' };
  const text = renderSourceText(event.content, ctx);
  if (isBlank(text)) return { outcome: 'skip', reason: 'empty_content' };

  const build = (next: RichText, fallback: RichText): Record<string, unknown> => {
    const newContent: Record<string, unknown> = { msgtype: 'm.text', body: next.body };
    if (next.html !== undefined) {
      newContent.format = HTML_FORMAT;
      newContent.formatted_body = next.html;
    }
    newContent['m.mentions'] = {};
    return messageContent(
      event.key,
      0,
      'm.text',
      fallback,
      { 'm.new_content': newContent },
      {
        rel_type: 'm.replace',
        event_id: target,
      },
    );
  };
  const star = (t: RichText): RichText =>
    t.html === undefined ? { body: `* ${t.body}` } : { body: `* ${t.body}`, html: `* ${t.html}` };

  // An edit cannot be split: shed the HTML, then the fallback text, then truncate visibly.
  const plain = { body: text.body };
  const candidates = [
    build(text, star(text)),
    build(plain, star(plain)),
    build(plain, { body: '* (edited)' }),
  ];
  for (const content of candidates) {
    if (contentBytes(content) <= MAX_CONTENT_BYTES) {
      return { outcome: 'send', sends: [message(0, content)] };
    }
  }
  const overhead = contentBytes(build({ body: EDIT_TRUNCATED }, { body: '* (edited)' }));
  const head = splitJsonText(text.body, Math.max(MAX_CONTENT_BYTES - overhead, 1_000))[0] ?? '';
  return {
    outcome: 'send',
    sends: [message(0, build({ body: head + EDIT_TRUNCATED }, { body: '* (edited)' }))],
  };
}
