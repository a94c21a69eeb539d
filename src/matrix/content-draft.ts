/**
 * Fitting a drafted `m.room.message` into sends: provenance on every part, and text split into
 * parts of at most `MAX_CONTENT_BYTES` (no text dropped).
 */
import type { EventKey } from '../model/index.js';
import type { Relations } from './content-relations.js';
import { contentBytes, MAX_CONTENT_BYTES, splitJsonText } from './content-size.js';
import type { RichText } from './content-text.js';
import { HTML_FORMAT } from './content-text.js';
import type { ContentOutcome, MatrixSend, ProvenanceContent } from './content-types.js';
import { PROVENANCE_KEY } from './content-types.js';

/** An `m.room.message` before it is fitted into one or more sends. */
interface Draft {
  msgtype: string;
  text: RichText;
  /** Keys every part carries (`ferry.edited_ts`). */
  shared: Record<string, unknown>;
  /** Media keys (`url`, `filename`, `info`): only on the media event itself. */
  media?: { filename: string; fields: Record<string, unknown> };
  relations: Relations;
}

const CONTINUED_MARKER_RESERVE = '(continued 99999/99999)\n';

export function provenance(key: EventKey, part: number): ProvenanceContent {
  return { key, part };
}

export function messageContent(
  key: EventKey,
  part: number,
  msgtype: string,
  text: RichText,
  extra: Record<string, unknown>,
  relation: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const content: Record<string, unknown> = { msgtype, body: text.body };
  if (text.html !== undefined) {
    content.format = HTML_FORMAT;
    content.formatted_body = text.html;
  }
  Object.assign(content, extra);
  if (relation !== undefined) content['m.relates_to'] = relation;
  content['m.mentions'] = {};
  content[PROVENANCE_KEY] = provenance(key, part);
  return content;
}

export function message(part: number, content: Record<string, unknown>): MatrixSend {
  return { kind: 'message', part, type: 'm.room.message', content };
}

/**
 * One send when the draft fits (dropping the HTML if that is what it takes), else a split:
 * the text in plain parts marked "(continued i/n)". A media event keeps its file in part 0 and
 * its caption moves to the following parts.
 */
export function send(key: EventKey, draft: Draft): ContentOutcome {
  const extra = { ...(draft.media?.fields ?? {}), ...draft.shared };
  const whole = messageContent(key, 0, draft.msgtype, draft.text, extra, draft.relations.first);
  if (contentBytes(whole) <= MAX_CONTENT_BYTES)
    return { outcome: 'send', sends: [message(0, whole)] };
  const plain = messageContent(
    key,
    0,
    draft.msgtype,
    { body: draft.text.body },
    extra,
    draft.relations.first,
  );
  if (contentBytes(plain) <= MAX_CONTENT_BYTES)
    return { outcome: 'send', sends: [message(0, plain)] };
  return { outcome: 'send', sends: split(key, draft) };
}

export function split(key: EventKey, draft: Draft): MatrixSend[] {
  const sends: MatrixSend[] = [];
  const partMsgtype = draft.media === undefined ? draft.msgtype : 'm.text';
  if (draft.media !== undefined) {
    // The file itself, without its caption; if even that is too large the homeserver says so.
    const head = { body: draft.media.filename };
    sends.push(
      message(
        0,
        messageContent(key, 0, draft.msgtype, head, draft.media.fields, draft.relations.first),
      ),
    );
  }
  const offset = sends.length;
  const relationFor = (part: number) => (part === 0 ? draft.relations.first : draft.relations.rest);

  // Room for the body: the limit minus the largest part's other keys and its marker.
  const emptyBody: RichText = { body: '' };
  const overhead = Math.max(
    contentBytes(
      messageContent(key, 99_999, partMsgtype, emptyBody, draft.shared, draft.relations.first),
    ),
    contentBytes(
      messageContent(key, 99_999, partMsgtype, emptyBody, draft.shared, draft.relations.rest),
    ),
  );
  const budget = Math.max(
    MAX_CONTENT_BYTES - overhead - contentBytes(CONTINUED_MARKER_RESERVE),
    1_000,
  );
  const chunks = splitJsonText(draft.text.body, budget);
  const total = chunks.length + offset;
  chunks.forEach((chunk, index) => {
    const part = index + offset;
    const marker = part === 0 ? '' : `(continued ${part + 1}/${total})\n`;
    const content = messageContent(
      key,
      part,
      partMsgtype,
      { body: marker + chunk },
      draft.shared,
      relationFor(part),
    );
    sends.push(message(part, content));
  });
  return sends;
}
