/**
 * One raw Matrix event (as the archive forms give it back, see archive-records.ts) → the model
 * items it becomes: a timeline event (plus its media record) or a skip.
 */
import {
  mediaKey,
  type EventBase,
  type EventKey,
  type MediaKey,
  type MediaRecord,
  type Membership,
  type MessageType,
  type RoomKey,
  type SkipReason,
  type SourceItem,
  type SourceKey,
  type SourceText,
  type UserKey,
} from '../../model/index.js';
import {
  isMatrixEventId,
  isMatrixUserId,
  isMxcUri,
  matrixEventKey,
  matrixMediaKey,
  matrixOrder,
} from '../../model/matrix-keys.js';
import { isObject, type ArchiveEvent, type JsonObject } from './archive-records.js';
import { mxcFromUrl } from './media-url.js';

export interface EventContext {
  source: SourceKey;
  room: RoomKey;
  sender: UserKey;
  /** Key of another user the event names (membership target); registers it for emission. */
  user(mxid: string, displayName?: string): UserKey;
  /** Where, for skips and losses: `<file>: <event id>`. */
  where: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const count = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;

const TEXT_MSGTYPES: Readonly<Record<string, MessageType>> = {
  'm.text': 'text',
  'm.notice': 'notice',
  'm.emote': 'emote',
};
const FILE_MSGTYPES = new Set(['m.image', 'm.file', 'm.audio', 'm.video']);

export function eventItems(event: ArchiveEvent, ctx: EventContext): SourceItem[] {
  const skip = (reason: SkipReason): SourceItem[] => [{ type: 'skip', reason, where: ctx.where }];
  if (event.redacted) return skip('redacted');
  const content = event.content;
  if (content === undefined && event.type !== 'm.room.redaction') return skip('missing_content');
  const c = content ?? {};
  const base = baseOf(event, ctx);
  switch (event.type) {
    case 'm.room.message':
      return messageItems(event, c, base, ctx);
    case 'm.sticker':
      return fileItems(c, 'm.sticker', withRelations(base, c), ctx);
    case 'm.room.encrypted':
      return skip('undecryptable');
    case 'm.reaction': {
      const rel = relationOf(c);
      const key = str(rel?.key);
      if (rel?.rel_type !== 'm.annotation' || key === undefined) return skip('unsupported_event');
      const target = eventRef(rel.event_id);
      if (target === undefined) return skip('unsupported_event');
      return [
        {
          type: 'event',
          event: { ...base, kind: 'reaction', target, reaction: { format: 'unicode', key } },
        },
      ];
    }
    case 'm.room.redaction': {
      const target = eventRef(c.redacts ?? event.redacts);
      if (target === undefined) return skip('unsupported_event');
      const reason = str(c.reason);
      return [
        {
          type: 'event',
          event: {
            ...base,
            kind: 'redaction',
            target,
            ...(reason === undefined ? {} : { reason }),
          },
        },
      ];
    }
    case 'm.room.member':
      return membershipItems(event, c, base, ctx);
    case 'm.room.name': {
      const name = str(c.name);
      if (name === undefined) return skip('unsupported_event');
      return [
        { type: 'event', event: { ...base, kind: 'room_state', change: { field: 'name', name } } },
      ];
    }
    case 'm.room.topic': {
      const topic = str(c.topic);
      if (topic === undefined) return skip('unsupported_event');
      return [
        {
          type: 'event',
          event: { ...base, kind: 'room_state', change: { field: 'topic', topic } },
        },
      ];
    }
    default:
      // m.room.message.feedback (receipts of the 2018 era), call signalling, widgets, other state.
      return skip('unsupported_event');
  }
}

function baseOf(event: ArchiveEvent, ctx: EventContext): EventBase {
  return {
    key: matrixEventKey(event.eventId),
    room: ctx.room,
    sender: ctx.sender,
    order: matrixOrder(event.ts, event.eventId),
    ts: event.ts,
    source: ctx.source,
    nativeId: event.eventId,
  };
}

function relationOf(content: JsonObject): JsonObject | undefined {
  const rel = content['m.relates_to'];
  return isObject(rel) ? rel : undefined;
}

function eventRef(value: unknown): EventKey | undefined {
  return typeof value === 'string' && isMatrixEventId(value) ? matrixEventKey(value) : undefined;
}

/** Threads (`m.thread`) and replies (`m.in_reply_to`, unless it is a thread's fallback). */
function withRelations(base: EventBase, content: JsonObject): EventBase {
  const rel = relationOf(content);
  if (rel === undefined) return base;
  const out: EventBase = { ...base };
  const inReplyTo = isObject(rel['m.in_reply_to'])
    ? eventRef(rel['m.in_reply_to'].event_id)
    : undefined;
  const root = rel.rel_type === 'm.thread' ? eventRef(rel.event_id) : undefined;
  if (root !== undefined) {
    out.thread = { root, broadcast: false };
    if (inReplyTo !== undefined && rel.is_falling_back !== true) out.replyTo = inReplyTo;
  } else if (inReplyTo !== undefined) {
    out.replyTo = inReplyTo;
  }
  return out;
}

function messageItems(
  event: ArchiveEvent,
  c: JsonObject,
  base: EventBase,
  ctx: EventContext,
): SourceItem[] {
  const skip = (reason: SkipReason): SourceItem[] => [{ type: 'skip', reason, where: ctx.where }];
  // Modern servers strip a redacted event's content; matrix-archive keeps the empty husk.
  if (Object.keys(c).length === 0) return skip('redacted');
  const rel = relationOf(c);
  if (rel?.rel_type === 'm.replace') {
    const target = eventRef(rel.event_id);
    if (target === undefined) return skip('unsupported_event');
    const replacement = isObject(c['m.new_content']) ? c['m.new_content'] : stripEditMarker(c);
    return [
      {
        type: 'event',
        event: { ...base, kind: 'edit', target, content: matrixText(replacement, false) },
      },
    ];
  }
  const msgtype = str(c.msgtype);
  const related = withRelations(base, c);
  if (msgtype !== undefined && FILE_MSGTYPES.has(msgtype)) {
    return fileItems(c, msgtype, related, ctx);
  }
  if (msgtype === 'm.bad.encrypted') return skip('undecryptable');
  if (msgtype === 'm.key.verification.request') return skip('unsupported_event');
  const known = msgtype === undefined ? undefined : TEXT_MSGTYPES[msgtype];
  // Unknown msgtypes (m.location, custom ones) fall back to their body, as clients do.
  if (known === undefined && str(c.body) === undefined) return skip('missing_content');
  return [
    {
      type: 'event',
      event: {
        ...related,
        kind: 'message',
        msgtype: known ?? 'text',
        content: matrixText(c, related.replyTo !== undefined),
        ...(known === undefined && msgtype !== undefined ? { subtype: msgtype } : {}),
      },
    },
  ];
}

function fileItems(
  c: JsonObject,
  msgtype: string,
  base: EventBase,
  ctx: EventContext,
): SourceItem[] {
  const encrypted = isObject(c.file) ? str(c.file.url) : undefined;
  const url = str(c.url) ?? encrypted;
  if (url === undefined) return [{ type: 'skip', reason: 'missing_content', where: ctx.where }];
  const mxc = mxcFromUrl(url);
  const key: MediaKey = mxc !== undefined && isMxcUri(mxc) ? matrixMediaKey(mxc) : mediaKey(url);
  const info = isObject(c.info) ? c.info : {};
  const body = str(c.body);
  const filename = str(c.filename);
  const media: MediaRecord = {
    key,
    source: ctx.source,
    nativeId: mxc ?? url,
    // The body is not in the file: the writer links the original mxc (or the URL) instead.
    availability: mxc === undefined ? 'external' : 'available',
    mode: msgtype,
  };
  const name = filename ?? body;
  if (name !== undefined) media.name = name;
  const mimetype = str(info.mimetype);
  if (mimetype !== undefined) media.mimetype = mimetype;
  const size = count(info.size);
  if (size !== undefined) media.size = size;
  const width = count(info.w);
  if (width !== undefined) media.width = width;
  const height = count(info.h);
  if (height !== undefined) media.height = height;
  if (mxc === undefined) media.remoteUrl = url;

  const items: SourceItem[] = [{ type: 'media', media }];
  if (encrypted !== undefined && str(c.url) === undefined) {
    // The decryption key stays behind: the mxc only holds ciphertext.
    items.push({
      type: 'loss',
      reason: 'file_body_not_in_export',
      where: `${ctx.where} (encrypted file)`,
    });
  }
  // Matrix 1.10 captions: a body that differs from `filename` is a caption.
  const caption = filename !== undefined && body !== undefined && body !== filename;
  items.push({
    type: 'event',
    event: {
      ...base,
      kind: 'file',
      media: key,
      ...(caption ? { caption: matrixText(c, base.replyTo !== undefined) } : {}),
    },
  });
  return items;
}

function membershipItems(
  event: ArchiveEvent,
  c: JsonObject,
  base: EventBase,
  ctx: EventContext,
): SourceItem[] {
  const skip = (reason: SkipReason): SourceItem[] => [{ type: 'skip', reason, where: ctx.where }];
  const targetId = event.stateKey;
  if (targetId === undefined || !isMatrixUserId(targetId)) return skip('unsupported_event');
  const byOther = event.sender !== targetId;
  let membership: Membership;
  switch (str(c.membership) ?? '') {
    case 'join':
      // A join after a join is a display name or avatar change.
      if (event.prevMembership === 'join') return skip('unsupported_event');
      membership = 'join';
      break;
    case 'invite':
      membership = 'invite';
      break;
    case 'ban':
      membership = 'ban';
      break;
    case 'leave':
      // Leaving by someone else's hand is a kick, unless it undoes an invite or a ban.
      membership =
        byOther && event.prevMembership !== 'invite' && event.prevMembership !== 'ban'
          ? 'kick'
          : 'leave';
      break;
    default:
      return skip('unsupported_event'); // knock, or junk
  }
  const target = ctx.user(targetId, str(c.displayname));
  return [{ type: 'event', event: { ...base, kind: 'membership', membership, target } }];
}

/** Body and HTML of message content; a reply's quoted fallback is dropped (the relation stays). */
function matrixText(c: JsonObject, isReply: boolean): SourceText {
  let body = str(c.body) ?? '';
  let html = str(c.formatted_body);
  if (isReply) {
    body = body.replace(/^(?:>[^\n]*\n)+\n/, '');
    if (html !== undefined) html = html.replace(/^<mx-reply>[\s\S]*?<\/mx-reply>/, '');
  }
  const text: Extract<SourceText, { format: 'matrix' }> = { format: 'matrix', body };
  if (html !== undefined) {
    text.formattedBody = html;
    text.htmlFormat = str(c.format) ?? 'org.matrix.custom.html';
  }
  return text;
}

/** An edit without `m.new_content` (old clients): its own body minus the leading `* `. */
function stripEditMarker(c: JsonObject): JsonObject {
  const out: JsonObject = { ...c };
  const body = str(c.body);
  if (body !== undefined) out.body = body.replace(/^\* /, '');
  const html = str(c.formatted_body);
  if (html !== undefined) out.formatted_body = html.replace(/^\* /, '');
  return out;
}
