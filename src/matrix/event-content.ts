/**
 * One model event → the Matrix events that represent it.
 *
 * This is the pure half of the room writer: it decides *what* to send (event types, content,
 * relations, how a long message is split) and never does I/O. Everything it needs from the
 * outside world — ghost user IDs, event IDs of already-sent events, uploaded media — comes
 * through a `ContentContext`, so it is tested with a fake context and no homeserver.
 *
 * Invariants of every send it returns (see matrix-import.md §5):
 *
 * - Every content carries `[PROVENANCE_KEY]: { key, part }`: the model event key and the part
 *   number. On resume the writer reads the room's tail and matches these to its ledger (§5.10).
 * - Every `m.room.message` and `m.reaction` carries `"m.mentions": {}`. Imported history must
 *   notify nobody: pills stay in the HTML, but no user IDs (and never `room: true`) are listed,
 *   which also stops legacy body-matching push rules (§5.8).
 * - Relations point only at events that were already sent (`ctx.eventIdOf`). A relation to an
 *   unknown event is a 400 from Synapse, so an unknown target is either skipped (reactions,
 *   edits) or rendered without the relation (threads, replies), never sent blindly.
 * - Every content is at most `MAX_CONTENT_BYTES` of UTF-8 JSON. Longer text is split into
 *   several parts; no text is ever dropped silently.
 *
 * Memberships, pins and redactions are not rendered here: they depend on room state the writer
 * tracks (auth rules, the pinned list, event IDs to redact) and come back as `writer` outcomes.
 */
import type {
  EventKey,
  FileEvent,
  MediaKey,
  MediaRecord,
  MessageEvent,
  MessageType,
  ReactionEvent,
  RoomRecord,
  RoomStateEvent,
  EditEvent,
  SourceText,
  TimelineEvent,
  UserKey,
} from '../model/index.js';
import { assertNever } from '../model/events.js';
import { emojiFromShortcode } from '../mapping/emoji.js';
import { escapeHtml, sanitizeMatrixHtml } from '../mapping/matrix-html.js';
import { slackMessageToMatrix, type MentionResolver } from '../mapping/slack-format.js';
import { isMatrixEventId } from '../model/matrix-keys.js';
import { contentBytes, MAX_CONTENT_BYTES, splitJsonText } from './content-size.js';

/** Content key that carries ferry's provenance in every event it sends (used to reconcile after a crash). */
export const PROVENANCE_KEY = 'ferry.source';

/**
 * Content key with the time (ms since the epoch) a message was last edited in the source, on
 * messages whose text is the final version of an edited message.
 */
export const EDITED_TS_KEY = 'ferry.edited_ts';

/** The value of `PROVENANCE_KEY`: which model event, and which part of it, a Matrix event is. */
export interface ProvenanceContent {
  key: EventKey;
  /** 0 for the first (or only) Matrix event of a model event; 1, 2, … for split parts. */
  part: number;
}

/**
 * What the content builder may ask the writer. Implementations must not throw for unknown keys:
 * "unknown" is answered with `undefined` and handled here.
 */
export interface ContentContext {
  /** The room being written (its current topic decides how a Slack purpose is rendered). */
  room: RoomRecord;
  /**
   * React with custom emoji images (the mxc URI as the annotation key, plus the shortcode for
   * clients that show text). Off by default: clients without image reactions show the raw URI.
   */
  imageReactions?: boolean;
  /** Ghost Matrix user ID of a model user. */
  mxidOf(user: UserKey): string;
  /** Display name the ghost of a model user has (or will have), if any. */
  displayNameOf(user: UserKey): string | undefined;
  /** Matrix event ID of an already-sent model event (part 0), or undefined if it was never sent. */
  eventIdOf(key: EventKey): string | undefined;
  /** Matrix event ID of the latest event sent in a thread (for the reply fallback), or undefined. */
  latestInThread(root: EventKey): string | undefined;
  /** Resolves Slack user/channel IDs inside Slack text to Matrix pills and links. */
  mentions: MentionResolver;
  /** The media record of a key and, when its body was uploaded, its mxc URI. */
  media(key: MediaKey): { record: MediaRecord; mxc?: string } | undefined;
  /**
   * Standard shortcode a custom Slack emoji name is an alias of (`ferry enrich slack --emoji`),
   * so such reactions show as the real emoji. Optional.
   */
  emojiAlias?(name: string): string | undefined;
  /**
   * Where an event of the old homeserver now lives, by its old event ID (`$…`, decoded), if it
   * was migrated (sent by ferry, in any room). Used to rewrite matrix.to links in Matrix-origin
   * text; the writer must have loaded every ID `linkedEventIds` names before converting an event.
   */
  migratedEvent(oldEventId: string): MigratedEvent | undefined;
}

/** The room and event ID a migrated event has on the new homeserver. */
export interface MigratedEvent {
  roomId: string;
  eventId: string;
}

/**
 * One Matrix event to send, in order. `part` is the value in the provenance key; the writer
 * derives the transaction ID from (event key, part), so it must be stable across runs.
 *
 * Split parts after the first carry the same thread relation as part 0 (so they stay in the
 * thread) with `m.in_reply_to` as computed before part 0 was sent; a writer that wants exact
 * reply fallbacks may point it at the previous part's event ID before sending.
 */
export type MatrixSend =
  | { kind: 'message'; part: number; type: string; content: Record<string, unknown> }
  | {
      kind: 'state';
      part: number;
      type: string;
      stateKey: string;
      content: Record<string, unknown>;
    };

/** Why an event produced nothing to send. Stable strings: they appear in reports. */
export type ContentSkipReason =
  /** A reaction whose target was never sent (skipped, failed, or not in the export). */
  | 'reaction_target_missing'
  /** An edit whose target was never sent. */
  | 'edit_target_missing'
  /** The event renders to nothing visible (empty text, empty reaction key, empty room name). */
  | 'empty_content';

export type ContentOutcome =
  | { outcome: 'send'; sends: MatrixSend[] }
  /** Nothing to send, with a stable reason for the report (e.g. 'reaction_target_missing', 'pin_at_end'). */
  | { outcome: 'skip'; reason: ContentSkipReason }
  /** Handled by the writer itself: memberships (join/leave need auth-rule handling) and pins (collected and sent as m.room.pinned_events at the end of the room). */
  | { outcome: 'writer'; handledBy: 'membership' | 'pin' | 'redaction' };

/** Visible prefix of a thread reply whose root is not in the room (orphan reply). */
export const ORPHAN_REPLY_PREFIX = '↪ Reply in a thread whose first message is not in the export: ';

/** Body of a placeholder for a deleted message that still has thread replies. */
export const TOMBSTONE_BODY = 'This message was deleted.';

/**
 * Renders one model event.
 *
 * - `message`, `file`, `edit` → `m.room.message` sends (split when too large);
 * - `reaction` → one `m.reaction`, or a skip when the target is unknown;
 * - `room_state` → a state event (`m.room.name`, `m.room.topic`, `m.room.join_rules`) or an
 *   `m.notice` when the change has no state equivalent;
 * - `membership`, `pin`, `redaction` → `writer`.
 *
 * Pure and deterministic: the same event and context answers give the same sends.
 */
export function eventToMatrix(event: TimelineEvent, ctx: ContentContext): ContentOutcome {
  switch (event.kind) {
    case 'message':
      return messageToMatrix(event, ctx);
    case 'file':
      return fileToMatrix(event, ctx);
    case 'reaction':
      return reactionToMatrix(event, ctx);
    case 'room_state':
      return roomStateToMatrix(event, ctx);
    case 'edit':
      return editToMatrix(event, ctx);
    case 'membership':
      return { outcome: 'writer', handledBy: 'membership' };
    case 'pin':
      return { outcome: 'writer', handledBy: 'pin' };
    case 'redaction':
      return { outcome: 'writer', handledBy: 'redaction' };
    default:
      return assertNever(event);
  }
}

// ---------------------------------------------------------------------------------------------
// Text

/** Plain body plus optional HTML (undefined when the text has no formatting). */
interface RichText {
  body: string;
  html?: string;
}

const HTML_FORMAT = 'org.matrix.custom.html';

function renderSourceText(text: SourceText, ctx: ContentContext): RichText {
  switch (text.format) {
    case 'slack-mrkdwn': {
      const out = slackMessageToMatrix(
        { text: text.text, blocks: text.blocks, attachments: text.attachments },
        slackResolver(ctx),
      );
      return withHtml(out.body, out.formatted_body);
    }
    case 'matrix': {
      const isHtml = text.htmlFormat === undefined || text.htmlFormat === HTML_FORMAT;
      // Links are rewritten after sanitising: the sanitiser has decoded entities (`&#36;`) and
      // what is inserted is a room and event ID from the homeserver, escaped for HTML.
      const html =
        isHtml && text.formattedBody !== undefined
          ? rewriteMatrixToLinks(sanitizeMatrixHtml(text.formattedBody), ctx, escapeHtml)
          : undefined;
      return withHtml(
        rewriteMatrixToLinks(text.body, ctx, (s) => s),
        html,
      );
    }
    case 'plain':
      return { body: text.text };
    default:
      return assertNever(text);
  }
}

// ---------------------------------------------------------------------------------------------
// matrix.to links to migrated events

/**
 * A matrix.to permalink to an event: `https://matrix.to/#/<room>/<event>` where `<room>` is a
 * room ID (`!…`) or alias (`#…`), or `https://matrix.to/#/<event>`; any of `!`, `#`, `$`, `:`
 * may be percent-encoded (`%21`, `%23`, `%24`, `%3A`), and a query (`?via=…`) may follow.
 * Group 1 is the (still encoded) event ID, group 2 the query. Neither the event ID nor the query
 * may end with punctuation, so a link at the end of a sentence or in parentheses keeps the
 * punctuation outside it. Links to rooms or users only do not match.
 */
const MATRIX_TO_EVENT_LINK =
  /https?:\/\/matrix\.to\/#\/(?:(?:!|%21|#|%23)[^/?\s"'<>&]+\/)?((?:\$|%24)[^/?\s"'<>&]*[^/?\s"'<>&.,;:!)\]}])(\?[^\s"'<>]*[^\s"'<>.,;:!)\]}])?/gi;

/** The decoded event ID of a link's event segment, or undefined when it is not one. */
function linkedEventId(segment: string): string | undefined {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  return isMatrixEventId(id) ? id : undefined;
}

/** Old event IDs that matrix.to links in a text point at, decoded, each once. */
export function matrixToEventIds(text: string): string[] {
  const ids = new Set<string>();
  for (const match of text.matchAll(MATRIX_TO_EVENT_LINK)) {
    const id = linkedEventId(match[1] ?? '');
    if (id !== undefined) ids.add(id);
  }
  return [...ids];
}

/**
 * Old event IDs linked from an event's Matrix-origin text (message text, file caption, edit
 * text; `body` and `formattedBody`). The writer looks these up before converting the event, so
 * that `ContentContext.migratedEvent` can answer. Other formats never link to Matrix events
 * that ferry migrated, and are not rewritten.
 */
export function linkedEventIds(event: TimelineEvent): string[] {
  const text =
    event.kind === 'message' || event.kind === 'edit'
      ? event.content
      : event.kind === 'file'
        ? event.caption
        : undefined;
  if (text?.format !== 'matrix') return [];
  return [
    ...new Set([...matrixToEventIds(text.body), ...matrixToEventIds(text.formattedBody ?? '')]),
  ];
}

/**
 * Points matrix.to links at migrated events to the event in its new room:
 * `https://matrix.to/#/<new room ID>/<new event ID>`. The old `?via=` servers are dropped, not
 * replaced: they name old servers, and the new homeserver holds the room itself. Links to
 * events that were not migrated (unknown, skipped, not sent yet) stay exactly as they were.
 * `escape` encodes the inserted IDs for the text's syntax (HTML or none).
 */
function rewriteMatrixToLinks(
  text: string,
  ctx: ContentContext,
  escape: (s: string) => string,
): string {
  return text.replace(MATRIX_TO_EVENT_LINK, (link: string, segment: string) => {
    const id = linkedEventId(segment);
    const target = id === undefined ? undefined : ctx.migratedEvent(id);
    return target === undefined
      ? link
      : escape(`https://matrix.to/#/${target.roomId}/${target.eventId}`);
  });
}

/**
 * The writer's resolver, with custom emoji it does not know falling back to `emojiAlias`, so
 * aliases show as their standard emoji in text as they do in reactions.
 */
function slackResolver(ctx: ContentContext): MentionResolver {
  const { mentions } = ctx;
  return {
    user: (id) => mentions.user(id),
    channel: (id) => mentions.channel(id),
    customEmoji: (name) => {
      const known = mentions.customEmoji?.(name);
      if (known !== undefined) return known;
      const alias = ctx.emojiAlias?.(name);
      return alias === undefined ? undefined : { kind: 'alias', shortcode: alias };
    },
  };
}

function withHtml(body: string, html: string | undefined): RichText {
  return html === undefined || html.trim() === '' ? { body } : { body, html };
}

function isBlank(text: RichText): boolean {
  return text.body.trim() === '' && (text.html === undefined || text.html.trim() === '');
}

/** HTML for plain text: escaped, line breaks kept. */
function plainToHtml(body: string): string {
  return escapeHtml(body).replace(/\n/g, '<br>');
}

function prefixText(text: RichText, body: string, html: string): RichText {
  return { body: body + text.body, html: html + (text.html ?? plainToHtml(text.body)) };
}

function suffixText(text: RichText, body: string, html: string): RichText {
  return { body: text.body + body, html: (text.html ?? plainToHtml(text.body)) + html };
}

/** Bot name override first, then the orphan-thread note in front of everything. */
function decorate(
  text: RichText,
  event: MessageEvent | FileEvent,
  ctx: ContentContext,
  orphan: boolean,
): RichText {
  let out = text;
  const name = event.senderNameOverride?.trim();
  if (name !== undefined && name !== '' && name !== ctx.displayNameOf(event.sender)) {
    out = prefixText(out, `${name}: `, `<strong>${escapeHtml(name)}</strong>: `);
  }
  if (orphan) {
    out = prefixText(
      out,
      ORPHAN_REPLY_PREFIX,
      `<em>${escapeHtml(ORPHAN_REPLY_PREFIX.trimEnd())}</em> `,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Relations

interface Relations {
  /** `m.relates_to` of part 0. */
  first?: Record<string, unknown>;
  /** `m.relates_to` of later parts: the thread relation only (replies are not repeated). */
  rest?: Record<string, unknown>;
  /** In a thread whose root was never sent: rendered unthreaded with a visible note. */
  orphan: boolean;
}

function relationsOf(event: MessageEvent | FileEvent, ctx: ContentContext): Relations {
  const replyTarget = event.replyTo === undefined ? undefined : ctx.eventIdOf(event.replyTo);
  const reply =
    replyTarget === undefined ? undefined : { 'm.in_reply_to': { event_id: replyTarget } };
  const thread = event.thread;
  // A root never relates to itself (Synapse refuses threads rooted on a relation).
  if (thread === undefined || thread.root === event.key) return { first: reply, orphan: false };

  const rootId = ctx.eventIdOf(thread.root);
  if (rootId === undefined) return { first: reply, orphan: true };

  const fallback = {
    rel_type: 'm.thread',
    event_id: rootId,
    is_falling_back: true,
    'm.in_reply_to': { event_id: ctx.latestInThread(thread.root) ?? rootId },
  };
  // A genuine reply inside a thread: no is_falling_back, in_reply_to is the replied-to event.
  const first =
    replyTarget === undefined
      ? fallback
      : { rel_type: 'm.thread', event_id: rootId, 'm.in_reply_to': { event_id: replyTarget } };
  return { first, rest: fallback, orphan: false };
}

// ---------------------------------------------------------------------------------------------
// Messages and files

const MSGTYPES: Record<MessageType, string> = {
  text: 'm.text',
  emote: 'm.emote',
  notice: 'm.notice',
};

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

function messageToMatrix(event: MessageEvent, ctx: ContentContext): ContentOutcome {
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

function fileToMatrix(event: FileEvent, ctx: ContentContext): ContentOutcome {
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
// Fitting drafts into sends

const CONTINUED_MARKER_RESERVE = '(continued 99999/99999)\n';

function provenance(key: EventKey, part: number): ProvenanceContent {
  return { key, part };
}

function messageContent(
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

function message(part: number, content: Record<string, unknown>): MatrixSend {
  return { kind: 'message', part, type: 'm.room.message', content };
}

/**
 * One send when the draft fits (dropping the HTML if that is what it takes), else a split:
 * the text in plain parts marked "(continued i/n)". A media event keeps its file in part 0 and
 * its caption moves to the following parts.
 */
function send(key: EventKey, draft: Draft): ContentOutcome {
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

function split(key: EventKey, draft: Draft): MatrixSend[] {
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

// ---------------------------------------------------------------------------------------------
// Reactions, room state, edits

function reactionToMatrix(event: ReactionEvent, ctx: ContentContext): ContentOutcome {
  const target = ctx.eventIdOf(event.target);
  if (target === undefined) return { outcome: 'skip', reason: 'reaction_target_missing' };
  const key = reactionKey(event.reaction, ctx);
  if (key === '') return { outcome: 'skip', reason: 'empty_content' };
  const image = key.startsWith(':') ? customImageKey(key.slice(1, -1), ctx) : undefined;
  const content = {
    'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: image ?? key },
    ...(image === undefined ? {} : { 'com.beeper.reaction.shortcode': key }),
    'm.mentions': {},
    [PROVENANCE_KEY]: provenance(event.key, 0),
  };
  return { outcome: 'send', sends: [{ kind: 'message', part: 0, type: 'm.reaction', content }] };
}

/** The uploaded image of a custom emoji, when image reactions are on. */
function customImageKey(name: string, ctx: ContentContext): string | undefined {
  if (ctx.imageReactions !== true) return undefined;
  const custom = ctx.mentions.customEmoji?.(name);
  return custom?.kind === 'image' ? custom.mxc : undefined;
}

/** Unicode for known Slack shortcodes (skin tones included), `:name:` for custom emoji. */
function reactionKey(reaction: ReactionEvent['reaction'], ctx: ContentContext): string {
  switch (reaction.format) {
    case 'slack-shortcode': {
      const name = reaction.name.trim().replace(/^:/, '').replace(/:$/, '');
      if (name === '') return '';
      const alias = ctx.emojiAlias?.(name);
      return (
        emojiFromShortcode(name) ??
        (alias === undefined ? undefined : emojiFromShortcode(alias)) ??
        `:${name}:`
      );
    }
    case 'unicode':
      return reaction.key;
    default:
      return assertNever(reaction);
  }
}

function roomStateToMatrix(event: RoomStateEvent, ctx: ContentContext): ContentOutcome {
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

function state(key: EventKey, type: string, content: Record<string, unknown>): ContentOutcome {
  const withProvenance = { ...content, [PROVENANCE_KEY]: provenance(key, 0) };
  return {
    outcome: 'send',
    sends: [{ kind: 'state', part: 0, type, stateKey: '', content: withProvenance }],
  };
}

function notice(key: EventKey, body: string): ContentOutcome {
  return send(key, {
    msgtype: 'm.notice',
    text: { body },
    shared: {},
    relations: { orphan: false },
  });
}

const EDIT_TRUNCATED = ' … (truncated: this edit is too large for one Matrix event)';

function editToMatrix(event: EditEvent, ctx: ContentContext): ContentOutcome {
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
