/**
 * One element of an Element export's `messages` → model items (events, media, skips, losses).
 *
 * Every event either becomes a TimelineEvent or is skipped with a named reason; the mapping
 * table is in the adapter's brief and source-formats.md §2.5–2.7. The function is pure apart
 * from the small sets in the context (edited messages, media already yielded, thread roots),
 * which keep the output free of duplicates across one export.
 */
import type {
  EventBase,
  EventKey,
  MediaRecord,
  Membership,
  MessageType,
  RoomKey,
  SkipReason,
  SourceItem,
  SourceKey,
  SourceText,
  UserKey,
} from '../../model/index.js';
import {
  isMatrixEventId,
  isMatrixUserId,
  isMxcUri,
  matrixEventKey,
  matrixMediaKey,
  matrixOrder,
  matrixUserKey,
} from '../../model/matrix-keys.js';
import type {
  AttachmentFolder,
  AttachmentQuery,
  ElementAttachments,
} from './element-attachments.js';
import { elementMediaKey } from './element-keys.js';
import { count, nonEmpty, obj, str, type JsonObject } from './json-guards.js';

export interface ElementEventContext {
  source: SourceKey;
  roomId: string;
  room: RoomKey;
  /** `<input>: <entry>`, the start of every `where`. */
  where: string;
  /** Undefined for a bare JSON export (no attachments anywhere). */
  attachments: ElementAttachments | undefined;
  /** Messages whose content already is their latest edit (bundled `m.replace`). */
  editedMessages: Set<string>;
  /** Media keys already yielded (a forwarded file appears in several events). */
  emittedMedia: Set<string>;
  /** Thread roots replies point at (from the survey) → whether the root was seen yet. */
  threadRoots: Map<string, boolean>;
  /** Thread replies whose root did not come before them. */
  orphanReplies: number;
}

/** The fields every event must have; the rest stays `unknown` until used. */
export interface EventHeader {
  eventId: string;
  type: string;
  sender: string;
  ts: number;
  roomId: string | undefined;
  stateKey: string | undefined;
  content: JsonObject;
  unsigned: JsonObject;
  raw: JsonObject;
}

export function eventHeader(raw: unknown): EventHeader | undefined {
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
  return {
    eventId,
    type,
    sender,
    ts,
    roomId: str(e.room_id),
    stateKey: str(e.state_key),
    content: obj(e.content) ?? {},
    unsigned: obj(e.unsigned) ?? {},
    raw: e,
  };
}

/** The latest edit the server bundled (`unsigned["m.relations"]["m.replace"]`). */
export function bundledEdit(h: EventHeader): JsonObject | undefined {
  return obj(obj(h.unsigned['m.relations'])?.['m.replace']);
}

/** The content to show: the bundled edit's `m.new_content` when there is one (§2.6). */
export function finalContent(h: EventHeader): JsonObject {
  return obj(obj(bundledEdit(h)?.content)?.['m.new_content']) ?? h.content;
}

/**
 * How to look up a media event's attachment (element-attachments.ts), or undefined when the
 * event is not one Element writes a file for.
 */
export function attachmentQueryOf(h: EventHeader): AttachmentQuery | undefined {
  if (h.unsigned.redacted_because !== undefined) return undefined;
  if (h.type === 'm.sticker') return queryFor(h, h.content, 'stickers');
  if (h.type !== 'm.room.message') return undefined;
  if (obj(h.content['m.relates_to'])?.rel_type === 'm.replace') return undefined;
  const content = finalContent(h);
  const folder = FILE_FOLDERS[str(content.msgtype) ?? ''];
  return folder === undefined ? undefined : queryFor(h, content, folder);
}

function queryFor(h: EventHeader, content: JsonObject, folder: AttachmentFolder): AttachmentQuery {
  const voice =
    content['org.matrix.msc3245.voice'] !== undefined ||
    content['org.matrix.msc2516.voice'] !== undefined;
  return {
    folder,
    body: str(content.body) ?? '',
    ts: h.ts,
    ...optional('filename', nonEmpty(content.filename)),
    ...optional('forcedExtension', folder === 'stickers' ? '.png' : voice ? '.ogg' : undefined),
  };
}

/** `content["m.relates_to"]` of a thread reply → its root's event ID. */
export function threadRootOf(content: JsonObject): string | undefined {
  const relation = obj(content['m.relates_to']);
  if (relation?.rel_type !== 'm.thread') return undefined;
  const root = str(relation.event_id);
  return root !== undefined && isMatrixEventId(root) ? root : undefined;
}

/** Builds the skip item for the event being mapped; `note` says why when the reason does not. */
type Skip = (reason: SkipReason, note?: string) => SourceItem[];

const TEXT_TYPES: Readonly<Record<string, MessageType>> = {
  'm.text': 'text',
  'm.notice': 'notice',
  'm.emote': 'emote',
};

const FILE_FOLDERS: Readonly<Record<string, AttachmentFolder>> = {
  'm.image': 'images',
  'm.video': 'videos',
  'm.audio': 'audio',
  'm.file': 'files',
};

/** Message types that are not conversation (key verification in a DM). */
const IGNORED_MSGTYPES = new Set(['m.key.verification.request']);

export function elementEventItems(
  raw: unknown,
  index: number,
  ctx: ElementEventContext,
): SourceItem[] {
  const h = eventHeader(raw);
  if (h === undefined) {
    return [
      {
        type: 'skip',
        reason: 'malformed_message',
        where: `${ctx.where} messages[${index}]: no valid event_id, type, sender or origin_server_ts`,
      },
    ];
  }
  const where = `${ctx.where} ${h.eventId}`;
  const skip: Skip = (reason, note = '') => [
    { type: 'skip', reason, where: note === '' ? where : `${where}: ${note}` },
  ];
  if (h.roomId !== undefined && h.roomId !== ctx.roomId) {
    return skip('malformed_message', `belongs to room ${h.roomId}`);
  }
  if (ctx.threadRoots.has(h.eventId)) ctx.threadRoots.set(h.eventId, true);
  if (h.unsigned.redacted_because !== undefined) return skip('redacted');

  const base: EventBase = {
    key: matrixEventKey(h.eventId),
    room: ctx.room,
    sender: matrixUserKey(h.sender),
    order: matrixOrder(h.ts, h.eventId),
    ts: h.ts,
    source: ctx.source,
    nativeId: h.eventId,
  };

  switch (h.type) {
    case 'm.room.encrypted':
      return skip('undecryptable');
    case 'm.room.message':
      return messageItems(h, base, ctx, skip);
    case 'm.sticker': {
      const related = { ...base, ...relationsOf(obj(h.content['m.relates_to']), h, ctx) };
      return fileItems(h, related, h.content, 'stickers', ctx, skip);
    }
    case 'm.reaction': {
      const relation = obj(h.content['m.relates_to']);
      const target = str(relation?.event_id);
      const key = str(relation?.key);
      if (relation?.rel_type !== 'm.annotation' || target === undefined || key === undefined) {
        return skip('malformed_message', 'reaction without target or key');
      }
      return [
        {
          type: 'event',
          event: {
            ...base,
            kind: 'reaction',
            target: matrixEventKey(target),
            reaction: { format: 'unicode', key },
          },
        },
      ];
    }
    case 'm.room.redaction': {
      // Room versions up to 10 put `redacts` at the top; v11 moved it into the content.
      const target = str(h.raw.redacts) ?? str(h.content.redacts);
      if (target === undefined) return skip('malformed_message', 'redaction without target');
      const reason = nonEmpty(h.content.reason);
      return [
        {
          type: 'event',
          event: {
            ...base,
            kind: 'redaction',
            target: matrixEventKey(target),
            ...(reason === undefined ? {} : { reason }),
          },
        },
      ];
    }
    case 'm.room.member':
      return memberItems(h, base, skip);
    case 'm.room.name':
    case 'm.room.topic': {
      if (h.stateKey !== '') return skip('unsupported_event', `${h.type} with a state key`);
      const change =
        h.type === 'm.room.name'
          ? {
              field: 'name' as const,
              name: str(h.content.name) ?? '',
              ...optional('previous', str(obj(h.unsigned.prev_content)?.name)),
            }
          : { field: 'topic' as const, topic: str(h.content.topic) ?? '' };
      return [{ type: 'event', event: { ...base, kind: 'room_state', change } }];
    }
    default:
      return skip('unsupported_event', h.type);
  }
}

function messageItems(
  h: EventHeader,
  base: EventBase,
  ctx: ElementEventContext,
  skip: Skip,
): SourceItem[] {
  const relation = obj(h.content['m.relates_to']);
  if (relation?.rel_type === 'm.replace') return editItems(h, base, relation, ctx, skip);

  // The content may already be the latest edit (§2.6); if the server bundled the edit with
  // its content, that is the final text whatever the exporter's version applied.
  const edit = bundledEdit(h);
  const content = finalContent(h);
  const msgtype = str(content.msgtype);
  if (msgtype === 'm.bad.encrypted') return skip('undecryptable');
  if (msgtype === undefined) {
    const note = Object.keys(content).length === 0 ? 'empty content' : 'no msgtype';
    return skip('missing_content', note);
  }
  const textType = TEXT_TYPES[msgtype];
  const folder = FILE_FOLDERS[msgtype];
  if (folder === undefined && textType === undefined) {
    // Unknown msgtypes (m.location, m.server_notice, …) keep their body, as clients show it.
    if (IGNORED_MSGTYPES.has(msgtype) || typeof content.body !== 'string') {
      return skip('unsupported_event', msgtype);
    }
  }

  const items: SourceItem[] = [];
  let editedMarker: { at: number; by?: UserKey } | undefined;
  if (edit !== undefined) {
    ctx.editedMessages.add(h.eventId);
    const by = str(edit.sender);
    editedMarker = {
      at: count(edit.origin_server_ts) ?? h.ts,
      ...optional('by', by !== undefined && isMatrixUserId(by) ? matrixUserKey(by) : undefined),
    };
    items.push({ type: 'loss', reason: 'edit_history', where: `${ctx.where} ${h.eventId}` });
  }
  const related = { ...base, ...relationsOf(relation, h, ctx) };
  if (folder !== undefined) return [...items, ...fileItems(h, related, content, folder, ctx, skip)];
  items.push({
    type: 'event',
    event: {
      ...related,
      kind: 'message',
      msgtype: textType ?? 'text',
      content: matrixText(content),
      ...optional('edited', editedMarker),
      ...optional('subtype', textType === undefined ? msgtype : undefined),
    },
  });
  return items;
}

/** A separate `m.replace` event (not in Element's own exports, but in hand-made ones). */
function editItems(
  h: EventHeader,
  base: EventBase,
  relation: JsonObject,
  ctx: ElementEventContext,
  skip: Skip,
): SourceItem[] {
  const target = str(relation.event_id);
  if (target === undefined) return skip('malformed_message', 'edit without target');
  // The target already shows its latest edit: replaying older edits would roll it back.
  if (ctx.editedMessages.has(target)) return skip('duplicate', `edit already applied to ${target}`);
  const replacement = obj(h.content['m.new_content']);
  if (replacement === undefined) return skip('missing_content', 'edit without m.new_content');
  return [
    {
      type: 'event',
      event: {
        ...base,
        kind: 'edit',
        target: matrixEventKey(target),
        content: matrixText(replacement),
      },
    },
  ];
}

function fileItems(
  h: EventHeader,
  base: EventBase,
  content: JsonObject,
  folder: AttachmentFolder,
  ctx: ElementEventContext,
  skip: Skip,
): SourceItem[] {
  const url = str(content.url) ?? str(obj(content.file)?.url);
  const mxc = url !== undefined && isMxcUri(url) ? url : undefined;
  const body = str(content.body) ?? '';
  const filename = nonEmpty(content.filename);
  const localPath = ctx.attachments?.find(queryFor(h, content, folder));
  const key =
    mxc !== undefined
      ? matrixMediaKey(mxc)
      : localPath !== undefined
        ? elementMediaKey(ctx.roomId, localPath)
        : undefined;
  if (key === undefined) return skip('missing_content', 'file without mxc URL or attachment');

  const items: SourceItem[] = [];
  if (!ctx.emittedMedia.has(key)) {
    ctx.emittedMedia.add(key);
    const info = obj(content.info);
    const name = filename ?? nonEmpty(body);
    const media: MediaRecord = {
      key,
      source: ctx.source,
      nativeId: mxc ?? localPath ?? key,
      availability: 'available',
      ...optional('name', name),
      ...optional('mimetype', nonEmpty(info?.mimetype)),
      ...optional('size', count(info?.size)),
      ...optional('width', count(info?.w)),
      ...optional('height', count(info?.h)),
      ...optional('localPath', localPath),
      mode: h.type === 'm.sticker' ? 'm.sticker' : (str(content.msgtype) ?? 'm.file'),
    };
    items.push({ type: 'media', media });
  }
  if (localPath === undefined) {
    items.push({
      type: 'loss',
      reason: 'file_body_not_in_export',
      where: `${ctx.where} ${h.eventId}`,
    });
  }
  // With `filename` set, `body` is a caption (Matrix 1.10); otherwise it is the file name.
  const caption = filename !== undefined && body !== '' && body !== filename;
  items.push({
    type: 'event',
    event: {
      ...base,
      kind: 'file',
      media: key,
      ...optional('caption', caption ? matrixText(content) : undefined),
    },
  });
  return items;
}

function memberItems(h: EventHeader, base: EventBase, skip: Skip): SourceItem[] {
  const target = h.stateKey;
  if (target === undefined || !isMatrixUserId(target)) {
    return skip('malformed_message', 'membership without a user');
  }
  const membership = str(h.content.membership);
  const previous = str(obj(h.unsigned.prev_content)?.membership);
  let mapped: Membership;
  switch (membership ?? '') {
    case 'join':
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
      if (target === h.sender) mapped = 'leave';
      else if (previous === 'ban') return skip('unsupported_event', 'unban');
      else mapped = 'kick';
      break;
    default:
      return skip('unsupported_event', `membership ${membership ?? '(none)'}`);
  }
  return [
    {
      type: 'event',
      event: { ...base, kind: 'membership', membership: mapped, target: matrixUserKey(target) },
    },
  ];
}

/** Thread and reply links of a message (the relation survives only on unedited messages). */
function relationsOf(
  relation: JsonObject | undefined,
  h: EventHeader,
  ctx: ElementEventContext,
): { thread?: { root: EventKey; broadcast: boolean }; replyTo?: EventKey } {
  if (relation === undefined) return {};
  const inReplyTo = str(obj(relation['m.in_reply_to'])?.event_id);
  const root = threadRootOf(h.content);
  if (root !== undefined) {
    if (ctx.threadRoots.get(root) !== true) ctx.orphanReplies += 1;
    // In a thread, `m.in_reply_to` is a real reply only when not marked as the fallback.
    const reply =
      relation.is_falling_back !== true && inReplyTo !== undefined ? inReplyTo : undefined;
    return {
      thread: { root: matrixEventKey(root), broadcast: false },
      ...optional('replyTo', reply === undefined ? undefined : matrixEventKey(reply)),
    };
  }
  return inReplyTo === undefined ? {} : { replyTo: matrixEventKey(inReplyTo) };
}

/** Matrix text content as the model keeps it; HTML only when the event carries some. */
export function matrixText(content: JsonObject): SourceText {
  const formattedBody = str(content.formatted_body);
  const htmlFormat = str(content.format);
  return {
    format: 'matrix',
    body: str(content.body) ?? '',
    ...(formattedBody === undefined
      ? {}
      : { formattedBody, ...optional('htmlFormat', htmlFormat) }),
  };
}

/** `{[key]: value}` when defined, `{}` otherwise (optional fields stay absent, not undefined). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
