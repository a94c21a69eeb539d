/** Files → media `m.room.message` events, or a visible note when the body is unavailable. */
import { escapeHtml } from '../mapping/matrix-html.js';
import { assertNever } from '../model/events.js';
import type { FileEvent, MediaRecord } from '../model/index.js';
import { send } from './content-draft.js';
import { relationsOf } from './content-relations.js';
import type { RichText } from './content-text.js';
import { decorate, isBlank, plainToHtml, renderSourceText } from './content-text.js';
import type { ContentContext, ContentOutcome } from './content-types.js';

export function fileToMatrix(event: FileEvent, ctx: ContentContext): ContentOutcome {
  const relations = relationsOf(event, ctx);
  const found = ctx.media(event.media);
  let caption = event.caption === undefined ? undefined : renderSourceText(event.caption, ctx);
  if (caption !== undefined && isBlank(caption)) caption = undefined;

  if (found?.mxc !== undefined) {
    const record = found.record;
    const filename = fileLabel(record);
    const msgtype = mediaMsgtype(record.mimetype);
    const needsCaption = caption !== undefined || relations.orphan || hasNameOverride(event, ctx);
    // MSC2530: a body that differs from `filename` is a caption.
    const text = needsCaption
      ? decorate(caption ?? { body: filename }, event, ctx, relations.orphan)
      : { body: filename };
    const fields: Record<string, unknown> = { filename, url: found.mxc };
    const info = mediaInfo(record, msgtype);
    if (Object.keys(info).length > 0) fields.info = info;
    return send(event.key, { msgtype, text, shared: {}, media: { filename, fields }, relations });
  }

  const record = found?.record;
  const link = record?.remoteUrl === undefined ? undefined : publicUrl(record.remoteUrl);
  const linkable =
    record !== undefined &&
    link !== undefined &&
    (record.availability === 'external' || record.availability === 'available');
  const label = record === undefined ? 'A file' : fileLabel(record);
  let line: RichText;
  let msgtype: string;
  if (linkable) {
    msgtype = 'm.text';
    line = {
      body: `📎 ${label}: ${link}`,
      html: `📎 <a href="${escapeHtml(link)}">${escapeHtml(label)}</a>`,
    };
  } else {
    msgtype = 'm.notice';
    const reason =
      record === undefined ? 'its record is missing from the import' : unavailableReason(record);
    line = { body: `📎 ${label} — not available: ${reason}` };
  }
  const text = caption === undefined ? line : joinLines(caption, line);
  return send(event.key, {
    msgtype,
    text: decorate(text, event, ctx, relations.orphan),
    shared: {},
    relations,
  });
}

function hasNameOverride(event: FileEvent, ctx: ContentContext): boolean {
  const name = event.senderNameOverride?.trim();
  return name !== undefined && name !== '' && name !== ctx.displayNameOf(event.sender);
}

function joinLines(a: RichText, b: RichText): RichText {
  if (a.html === undefined && b.html === undefined) return { body: `${a.body}\n${b.body}` };
  return {
    body: `${a.body}\n${b.body}`,
    html: `${a.html ?? plainToHtml(a.body)}<br>${b.html ?? plainToHtml(b.body)}`,
  };
}

function fileLabel(record: MediaRecord): string {
  return nonBlank(record.name) ?? nonBlank(record.title) ?? record.nativeId;
}

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

const MEDIA_MSGTYPES: Record<string, string> = {
  image: 'm.image',
  video: 'm.video',
  audio: 'm.audio',
};

function mediaMsgtype(mimetype: string | undefined): string {
  const top = mimetype?.split('/')[0]?.trim().toLowerCase() ?? '';
  return (Object.hasOwn(MEDIA_MSGTYPES, top) ? MEDIA_MSGTYPES[top] : undefined) ?? 'm.file';
}

/** `info` with only the fields the record knows (integers must be canonical-JSON safe). */
function mediaInfo(record: MediaRecord, msgtype: string): Record<string, unknown> {
  const info: Record<string, unknown> = {};
  const mimetype = nonBlank(record.mimetype);
  if (mimetype !== undefined) info.mimetype = mimetype;
  if (isCount(record.size)) info.size = record.size;
  if (msgtype === 'm.image' || msgtype === 'm.video') {
    if (isCount(record.width) && record.width > 0) info.w = record.width;
    if (isCount(record.height) && record.height > 0) info.h = record.height;
  }
  return info;
}

function isCount(value: number | undefined): value is number {
  return value !== undefined && Number.isSafeInteger(value) && value >= 0;
}

function unavailableReason(record: MediaRecord): string {
  switch (record.availability) {
    case 'hidden_by_limit':
      return 'hidden by the workspace plan’s history limit';
    case 'tombstone':
      return 'the file was deleted';
    case 'access_denied':
      return 'the export had no access to it';
    case 'external':
      return 'it is stored in another service and no link was exported';
    case 'available':
      return 'its contents are not in the export';
    default:
      return assertNever(record.availability);
  }
}

/**
 * An http(s) URL safe to show: query string, fragment and credentials removed (Slack file URLs
 * carry `?t=xoxe-…` export tokens). Undefined when the URL is unusable.
 */
function publicUrl(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  url.search = '';
  url.hash = '';
  url.username = '';
  url.password = '';
  return url.toString();
}

// ---------------------------------------------------------------------------------------------
