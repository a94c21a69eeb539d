/** `m.room.message` and `m.sticker` events: text, edits, files and their relations. */
import type {
  EventBase,
  EventKey,
  MediaRecord,
  MessageType,
  SourceItem,
  SourceText,
  UserKey,
} from '../../model/index.js';
import {
  isMatrixEventId,
  isMatrixUserId,
  matrixEventKey,
  matrixUserKey,
} from '../../model/matrix-keys.js';
import type { MatrixEventContext, ResolvedMedia } from './context.js';
import { count, nonEmpty, obj, str, type JsonObject } from './json-guards.js';
import { bundledEdit, finalContent, threadRootOf, type MatrixEvent } from './matrix-event.js';
import type { MatrixEventRules } from './rules.js';
import { undecryptable, type Skip } from './skip.js';

const TEXT_TYPES: Readonly<Record<string, MessageType>> = {
  'm.text': 'text',
  'm.notice': 'notice',
  'm.emote': 'emote',
};

const FILE_MSGTYPES = new Set(['m.image', 'm.video', 'm.audio', 'm.file']);

/** Message types that are not conversation (key verification in a DM). */
const IGNORED_MSGTYPES = new Set(['m.key.verification.request']);

export function messageItems(
  event: MatrixEvent,
  base: EventBase,
  ctx: MatrixEventContext,
  where: string,
  skip: Skip,
): SourceItem[] {
  const own = event.content ?? {};
  if (ctx.rules.emptyMessage === 'redacted' && Object.keys(own).length === 0) {
    return skip('redacted');
  }
  const relation = obj(own['m.relates_to']);
  if (relation?.rel_type === 'm.replace') return editItems(own, base, relation, ctx, skip);

  // The content may already be the latest edit; if the server bundled the edit with its
  // content, that is the final text whatever the exporter's version applied.
  const edit = bundledEdit(event);
  const content = finalContent(event);
  const msgtype = str(content.msgtype);
  if (msgtype !== undefined && FILE_MSGTYPES.has(msgtype)) {
    const items = edit === undefined ? [] : editedLoss(event, edit, ctx, where).items;
    const related = { ...base, ...relationsOf(relation, own, ctx) };
    return [...items, ...fileItems(event, related, content, msgtype, ctx, where, skip)];
  }
  if (msgtype === 'm.bad.encrypted') return undecryptable(where, ctx, 'exporter');
  const refused = refusedMsgtype(msgtype, content, ctx.rules, skip);
  if (refused !== undefined) return refused;

  // Counted only now: a skipped message is no orphan reply.
  const related = { ...base, ...relationsOf(relation, own, ctx) };
  const textType = msgtype === undefined ? undefined : TEXT_TYPES[msgtype];
  const marked = edit === undefined ? undefined : editedLoss(event, edit, ctx, where);
  return [
    ...(marked?.items ?? []),
    {
      type: 'event',
      event: {
        ...related,
        kind: 'message',
        msgtype: textType ?? 'text',
        content: matrixText(content, related.replyTo !== undefined, ctx.rules),
        ...(marked === undefined ? {} : { edited: marked.edited }),
        ...(textType === undefined && msgtype !== undefined ? { subtype: msgtype } : {}),
      },
    },
  ];
}

/** The skip for a msgtype that is not carried over, or undefined when it is. */
function refusedMsgtype(
  msgtype: string | undefined,
  content: JsonObject,
  rules: MatrixEventRules,
  skip: Skip,
): SourceItem[] | undefined {
  const hasBody = typeof content.body === 'string';
  if (msgtype === undefined) {
    if (rules.noMsgtype === 'text_if_body' && hasBody) return undefined;
    return skip(
      'missing_content',
      Object.keys(content).length === 0 ? 'empty content' : 'no msgtype',
    );
  }
  if (IGNORED_MSGTYPES.has(msgtype)) return skip('unsupported_event', msgtype);
  // Unknown msgtypes (m.location, m.server_notice, …) keep their body, as clients show it.
  if (TEXT_TYPES[msgtype] === undefined && !hasBody) {
    return skip(rules.unknownWithoutBody, msgtype);
  }
  return undefined;
}

/** The `edited` marker and `edit_history` loss of a message shown with its bundled edit. */
function editedLoss(
  event: MatrixEvent,
  edit: JsonObject,
  ctx: MatrixEventContext,
  where: string,
): { edited: { at: number; by?: UserKey }; items: SourceItem[] } {
  ctx.editedMessages.add(event.eventId);
  const by = str(edit.sender);
  return {
    edited: {
      at: count(edit.origin_server_ts) ?? event.ts,
      ...(by !== undefined && isMatrixUserId(by) ? { by: matrixUserKey(by) } : {}),
    },
    items: [{ type: 'loss', reason: 'edit_history', where }],
  };
}

/** A separate `m.replace` event. */
function editItems(
  content: JsonObject,
  base: EventBase,
  relation: JsonObject,
  ctx: MatrixEventContext,
  skip: Skip,
): SourceItem[] {
  const target = eventRef(relation.event_id, ctx.rules);
  if (target === undefined) return skip(ctx.rules.brokenReason, 'edit without target');
  const targetId = str(relation.event_id) ?? '';
  // The target already shows its latest edit: replaying older edits would roll it back.
  if (ctx.editedMessages.has(targetId)) {
    return skip('duplicate', `edit already applied to ${targetId}`);
  }
  let replacement = obj(content['m.new_content']);
  if (replacement === undefined) {
    if (ctx.rules.editWithoutNewContent === 'missing_content') {
      return skip('missing_content', 'edit without m.new_content');
    }
    replacement = stripEditMarker(content);
  }
  return [
    {
      type: 'event',
      event: { ...base, kind: 'edit', target, content: matrixText(replacement, false, ctx.rules) },
    },
  ];
}

export function fileItems(
  event: MatrixEvent,
  base: EventBase,
  content: JsonObject,
  mode: string,
  ctx: MatrixEventContext,
  where: string,
  skip: Skip,
): SourceItem[] {
  const resolved = ctx.media({ event, content, mode, where });
  if (resolved === undefined) return skip('missing_content', 'file without mxc URL or attachment');
  if ('undecryptable' in resolved)
    return undecryptable(where, ctx, resolved.undecryptable, resolved.note);
  const { key } = resolved;
  const items: SourceItem[] = [];
  if (ctx.emittedMedia?.has(key) !== true) {
    ctx.emittedMedia?.add(key);
    items.push({ type: 'media', media: mediaRecord(resolved, content, mode, ctx) });
  }
  items.push(...resolved.losses);
  // With `filename` set, `body` is a caption (Matrix 1.10); otherwise it is the file name.
  const { filename, body } = fileNames(content, ctx.rules);
  const caption =
    filename !== undefined &&
    body !== undefined &&
    body !== filename &&
    (ctx.rules.emptyStrings === 'kept' || body !== '');
  items.push({
    type: 'event',
    event: {
      ...base,
      kind: 'file',
      media: key,
      ...(caption ? { caption: matrixText(content, base.replyTo !== undefined, ctx.rules) } : {}),
    },
  });
  return items;
}

function fileNames(
  content: JsonObject,
  rules: MatrixEventRules,
): { filename: string | undefined; body: string | undefined } {
  if (rules.emptyStrings === 'kept')
    return { filename: str(content.filename), body: str(content.body) };
  return { filename: nonEmpty(content.filename), body: str(content.body) ?? '' };
}

function mediaRecord(
  resolved: ResolvedMedia,
  content: JsonObject,
  mode: string,
  ctx: MatrixEventContext,
): MediaRecord {
  const info = obj(content.info) ?? {};
  const text = ctx.rules.emptyStrings === 'absent' ? nonEmpty : str;
  const number = ctx.rules.numbers === 'truncate' ? count : safeCount;
  const fields: Partial<MediaRecord> = {
    name: text(content.filename) ?? text(content.body),
    mimetype: text(info.mimetype),
    size: number(info.size),
    width: number(info.w),
    height: number(info.h),
    localPath: resolved.localPath,
    remoteUrl: resolved.remoteUrl,
  };
  const media: MediaRecord = {
    key: resolved.key,
    source: ctx.source,
    nativeId: resolved.nativeId,
    availability: resolved.availability,
    mode,
  };
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined) Object.assign(media, { [name]: value });
  }
  return media;
}

const safeCount = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;

/** An event ID a relation points at, as the rules accept it. */
export function eventRef(value: unknown, rules: MatrixEventRules): EventKey | undefined {
  if (typeof value !== 'string') return undefined;
  return !rules.strictEventRefs || isMatrixEventId(value) ? matrixEventKey(value) : undefined;
}

/**
 * Threads (`m.thread`) and replies (`m.in_reply_to`, unless it is a thread's fallback) of an
 * event's own content (the relation survives only there, never in an edit's new content).
 */
export function relationsOf(
  relation: JsonObject | undefined,
  content: JsonObject,
  ctx: MatrixEventContext,
): { thread?: { root: EventKey; broadcast: boolean }; replyTo?: EventKey } {
  if (relation === undefined) return {};
  const inReplyTo = eventRef(obj(relation['m.in_reply_to'])?.event_id, ctx.rules);
  const root = threadRootOf(content);
  if (root !== undefined) {
    if (ctx.threadRoots !== undefined && ctx.threadRoots.get(root) !== true) {
      ctx.orphanReplies += 1;
    }
    // In a thread, `m.in_reply_to` is a real reply only when not marked as the fallback.
    const reply = relation.is_falling_back !== true ? inReplyTo : undefined;
    return {
      thread: { root: matrixEventKey(root), broadcast: false },
      ...(reply === undefined ? {} : { replyTo: reply }),
    };
  }
  return inReplyTo === undefined ? {} : { replyTo: inReplyTo };
}

/** Body and HTML of message content; a reply's quoted fallback goes when the rules say so. */
export function matrixText(
  content: JsonObject,
  isReply: boolean,
  rules: MatrixEventRules,
): SourceText {
  let body = str(content.body) ?? '';
  let html = str(content.formatted_body);
  if (isReply && rules.stripReplyFallback) {
    body = body.replace(/^(?:>[^\n]*\n)+\n/, '');
    if (html !== undefined) html = html.replace(/^<mx-reply>[\s\S]*?<\/mx-reply>/, '');
  }
  const format = str(content.format) ?? rules.defaultHtmlFormat;
  return {
    format: 'matrix',
    body,
    ...(html === undefined
      ? {}
      : { formattedBody: html, ...(format === undefined ? {} : { htmlFormat: format }) }),
  };
}

/** An edit without `m.new_content` (old clients): its own body minus the leading `* `. */
function stripEditMarker(content: JsonObject): JsonObject {
  const out: JsonObject = { ...content };
  const body = str(content.body);
  if (body !== undefined) out.body = body.replace(/^\* /, '');
  const html = str(content.formatted_body);
  if (html !== undefined) out.formatted_body = html.replace(/^\* /, '');
  return out;
}
