/**
 * One Slack message object → model items (events, media, skips, losses).
 *
 * Every subtype listed in docs/source-formats.md §1.7 is either mapped or skipped with a named
 * reason; unknown subtypes fall back to their text, as Slack's own clients do.
 */
import type {
  EventKey,
  MediaRecord,
  OrderKey,
  RoomKey,
  SourceItem,
  SourceKey,
  SourceText,
  RoomStateChange,
  ThreadRef,
  UserKey,
} from '../../model/index.js';
import { arr, nonEmpty, num, obj, str, strings, type JsonObject } from './json-guards.js';
import { slackFileMedia } from './slack-files.js';
import { slackDerivedKey, slackMessageKey, slackOrder } from './slack-keys.js';
import { canonicalSlackTs, microsToMillis, slackTsToMicros } from './slack-ts.js';

/** Where mapped messages get user keys, noting users the user list lacks (placeholders). */
export interface SlackUserRefs {
  /** A reference to a user ID (with the message's `user_profile` snapshot, if any). */
  user(id: string, snapshot?: JsonObject): UserKey;
  /** A bot without a users.json entry, keyed by bot ID or name. */
  bot(botIdOrName: string, name: string | undefined, icon: string | undefined): UserKey;
}

/** What the user list says about bots. */
export interface SlackBotDirectory {
  /** Which users.json entry a `B…` bot ID belongs to. */
  userOfBot(botId: string): string | undefined;
  /** The user list marks this user `is_bot`. */
  isBotUser(userId: string): boolean;
}

export interface SlackMessageContext {
  source: SourceKey;
  conversationId: string;
  room: RoomKey;
  users: SlackUserRefs;
  directory: SlackBotDirectory;
  /** File ID → archive entry holding its body (slackdump / advanced-exporter layouts). */
  localFiles: ReadonlyMap<string, string>;
  /** Folder of the conversation in the archive (for `<folder>/attachments/…`). */
  folder: string;
  /** For messages: archive entry being read. */
  where: string;
}

/** Subtypes that only log integration changes. */
const INTEGRATION_SUBTYPES = new Set(['bot_add', 'bot_remove', 'bot_enable', 'bot_disable']);
/** Call records with nothing to show. */
const CALL_SUBTYPES = new Set(['huddle_thread', 'sh_room_created']);
/** Senders the exporter marks as broken (Zulip skips these too). */
const INVALID_SENDERS = new Set(['U00']);

export function slackMessageItems(raw: unknown, ctx: SlackMessageContext): SourceItem[] {
  const m = obj(raw);
  const micros = slackTsToMicros(m?.ts);
  if (m === undefined || micros === undefined) {
    const where = `${ctx.where}: message without a valid ts`;
    return [{ type: 'skip', reason: 'malformed_message', where }];
  }
  const ts = canonicalSlackTs(micros);
  const where = `${ctx.where} ts=${ts}`;
  const subtype = str(m.subtype);
  if (subtype !== undefined && INTEGRATION_SUBTYPES.has(subtype)) {
    return [{ type: 'skip', reason: 'integration_log', where }];
  }
  if (subtype !== undefined && CALL_SUBTYPES.has(subtype) && nonEmpty(m.text) === undefined) {
    return [{ type: 'skip', reason: 'call_record', where }];
  }
  const sender = resolveSender(m, ctx);
  if (sender === undefined) {
    return [{ type: 'skip', reason: 'invalid_sender', where }];
  }
  const base: MessageBase = {
    key: slackMessageKey(ctx.conversationId, micros),
    sender,
    micros,
    order: slackOrder.message(micros),
    millis: microsToMillis(micros),
    ts,
    thread: threadOf(m, micros, ctx),
    where,
  };
  const change = subtypeEvent(m, subtype ?? '', base, ctx);
  if (change !== undefined) return [change];

  const items = messageAndFiles(m, subtype, base, ctx);
  if (items.length === 0) return [{ type: 'skip', reason: 'empty_message', where }];
  const reactions = arr(m.reactions);
  if (reactions !== undefined) pushReactions(items, reactions, base.key, micros, ts, ctx, where);
  if (strings(m.pinned_to).includes(ctx.conversationId)) {
    items.push({
      type: 'event',
      event: {
        key: slackDerivedKey(base.key, 'pin'),
        room: ctx.room,
        sender: sender.key,
        order: slackOrder.pin(micros),
        ts: base.millis,
        source: ctx.source,
        nativeId: ts,
        kind: 'pin',
        target: base.key,
        pinned: true,
      },
    });
  }
  return items;
}

/**
 * What every event of one message shares. Events are written as one object literal with all of
 * their fields (no `...base` spreads): on a 10^7-message export, spreading into literals was the
 * adapter's main cost.
 */
interface MessageBase {
  key: EventKey;
  sender: ResolvedSender;
  micros: number;
  order: OrderKey;
  millis: number;
  /** Canonical Slack ts: the message's native ID. */
  ts: string;
  thread: ThreadRef | undefined;
  where: string;
}

/** Join/leave and channel changes (topic, purpose, name, archive, visibility), if it is one. */
function subtypeEvent(
  m: JsonObject,
  subtype: string,
  b: MessageBase,
  ctx: SlackMessageContext,
): SourceItem | undefined {
  const { room, source } = ctx;
  const { key, order, millis: ts, ts: nativeId, thread } = b;
  const sender = b.sender.key;
  const stateEvent = (change: RoomStateChange): SourceItem => ({
    type: 'event',
    event: { key, room, sender, order, ts, source, nativeId, thread, kind: 'room_state', change },
  });
  switch (subtype) {
    case 'channel_join':
    case 'group_join':
    case 'channel_leave':
    case 'group_leave': {
      const membership = subtype.endsWith('_join') ? 'join' : 'leave';
      return {
        type: 'event',
        event: {
          key,
          room,
          sender,
          order,
          ts,
          source,
          nativeId,
          thread,
          kind: 'membership',
          membership,
          target: sender,
        },
      };
    }
    case 'channel_topic':
    case 'group_topic':
      return stateEvent({ field: 'topic', topic: str(m.topic) ?? '' });
    case 'channel_purpose':
    case 'group_purpose':
      return stateEvent({ field: 'purpose', purpose: str(m.purpose) ?? '' });
    case 'channel_name':
    case 'group_name':
      return stateEvent({ field: 'name', name: str(m.name) ?? '', previous: nonEmpty(m.old_name) });
    case 'channel_archive':
    case 'group_archive':
    case 'channel_unarchive':
    case 'group_unarchive':
      return stateEvent({ field: 'archived', archived: !subtype.endsWith('unarchive') });
    case 'channel_convert_to_private':
    case 'channel_convert_to_public':
      return stateEvent({ field: 'visibility', private: subtype === 'channel_convert_to_private' });
    default:
      return undefined;
  }
}

/** The message's text event (if it has text) and one file event per file; empty if neither. */
function messageAndFiles(
  m: JsonObject,
  subtype: string | undefined,
  b: MessageBase,
  ctx: SlackMessageContext,
): SourceItem[] {
  const content = textOf(m, subtype);
  const files = filesOf(m, subtype);
  const hasText =
    content.format === 'slack-mrkdwn' &&
    (content.text.trim() !== '' ||
      (content.blocks?.length ?? 0) > 0 ||
      (content.attachments?.length ?? 0) > 0);
  const items: SourceItem[] = [];
  if (hasText) textEvent(items, m, subtype, content, b, ctx);
  files.forEach((file, index) => fileEvent(items, file, !hasText && index === 0, index, b, ctx));
  return items;
}

function textEvent(
  items: SourceItem[],
  m: JsonObject,
  subtype: string | undefined,
  content: SourceText,
  b: MessageBase,
  ctx: SlackMessageContext,
): void {
  const msgtype = subtype === 'me_message' ? 'emote' : b.sender.isBot ? 'notice' : 'text';
  const edited = obj(m.edited);
  const editedAt = slackTsToMicros(edited?.ts);
  const editor = nonEmpty(edited?.user);
  items.push({
    type: 'event',
    event: {
      key: b.key,
      room: ctx.room,
      sender: b.sender.key,
      order: b.order,
      ts: b.millis,
      source: ctx.source,
      nativeId: b.ts,
      thread: b.thread,
      kind: 'message',
      msgtype,
      content,
      edited:
        editedAt === undefined
          ? undefined
          : {
              at: microsToMillis(editedAt),
              by: editor === undefined ? undefined : ctx.users.user(editor),
            },
      tombstone: subtype === 'tombstone' ? true : undefined,
      senderNameOverride: b.sender.nameOverride,
      subtype,
    },
  });
  if (editedAt !== undefined) items.push({ type: 'loss', reason: 'edit_history', where: b.where });
}

/** A file of the message: its media record, any loss, and its event (part 0 when no text). */
function fileEvent(
  items: SourceItem[],
  file: JsonObject,
  first: boolean,
  index: number,
  b: MessageBase,
  ctx: SlackMessageContext,
): void {
  const media = slackFileMedia(file, ctx);
  items.push({ type: 'media', media });
  const loss = lossOf(media);
  if (loss !== undefined)
    items.push({ type: 'loss', reason: loss, where: `${b.where} file=${media.nativeId}` });
  items.push({
    type: 'event',
    event: {
      key: first ? b.key : slackDerivedKey(b.key, `file:${media.nativeId}`),
      room: ctx.room,
      sender: b.sender.key,
      order: first ? b.order : slackOrder.file(b.micros, index),
      ts: b.millis,
      source: ctx.source,
      nativeId: first ? b.ts : `${b.ts}/${media.nativeId}`,
      thread: b.thread,
      kind: 'file',
      media: media.key,
      senderNameOverride: b.sender.nameOverride,
    },
  });
}

interface ResolvedSender {
  key: UserKey;
  isBot: boolean;
  nameOverride?: string;
}

/** Author: comment.user (file_comment) → user → bot_id → bot name → file.user (§1.13). */
function resolveSender(m: JsonObject, ctx: SlackMessageContext): ResolvedSender | undefined {
  const subtype = str(m.subtype);
  const username = nonEmpty(m.username);
  const botId = nonEmpty(m.bot_id);
  const botProfile = obj(m.bot_profile);
  const isBotMessage = subtype === 'bot_message' || botId !== undefined;
  const commentUser = subtype === 'file_comment' ? nonEmpty(obj(m.comment)?.user) : undefined;
  const userId = commentUser ?? nonEmpty(m.user);
  if (userId !== undefined && INVALID_SENDERS.has(userId)) return undefined;
  if (userId !== undefined) {
    return {
      key: ctx.users.user(userId, obj(m.user_profile)),
      isBot: isBotMessage || userId === 'USLACKBOT' || ctx.directory.isBotUser(userId),
      nameOverride: isBotMessage ? username : undefined,
    };
  }
  if (botId !== undefined) {
    const botUser = ctx.directory.userOfBot(botId);
    if (botUser !== undefined)
      return { key: ctx.users.user(botUser), isBot: true, nameOverride: username };
    const icon = nonEmpty(obj(botProfile?.icons)?.image_72) ?? nonEmpty(obj(m.icons)?.image_72);
    return {
      key: ctx.users.bot(botId, nonEmpty(botProfile?.name) ?? username, icon),
      isBot: true,
      nameOverride: username,
    };
  }
  if (username !== undefined) {
    return {
      key: ctx.users.bot(username, username, undefined),
      isBot: true,
      nameOverride: username,
    };
  }
  const fileUser = nonEmpty(obj(m.file)?.user) ?? nonEmpty(obj(arr(m.files)?.[0])?.user);
  if (fileUser !== undefined) return { key: ctx.users.user(fileUser), isBot: false };
  return undefined;
}

function threadOf(m: JsonObject, micros: number, ctx: SlackMessageContext): ThreadRef | undefined {
  const rootMicros = slackTsToMicros(m.thread_ts);
  if (rootMicros === undefined || rootMicros === micros) return undefined;
  const subtype = str(m.subtype);
  return {
    root: slackMessageKey(ctx.conversationId, rootMicros),
    broadcast: subtype === 'thread_broadcast' || subtype === 'reply_broadcast',
  };
}

function textOf(m: JsonObject, subtype: string | undefined): SourceText {
  const text =
    subtype === 'file_comment'
      ? (str(obj(m.comment)?.comment) ?? str(m.text) ?? '')
      : (str(m.text) ?? '');
  const blocks = arr(m.blocks);
  const attachments = arr(m.attachments);
  return {
    format: 'slack-mrkdwn',
    text,
    ...(blocks !== undefined && blocks.length > 0 ? { blocks } : {}),
    ...(attachments !== undefined && attachments.length > 0 ? { attachments } : {}),
  };
}

/** Files shared by this message: `files[]`, or the legacy singular `file` of file_share. */
function filesOf(m: JsonObject, subtype: string | undefined): JsonObject[] {
  const files = arr(m.files);
  if (files !== undefined)
    return files
      .map(obj)
      .filter((f): f is JsonObject => f !== undefined && nonEmpty(f.id) !== undefined);
  // file_comment and file_mention reference a file without sharing it again.
  if (subtype === 'file_share') {
    const file = obj(m.file);
    if (file !== undefined && nonEmpty(file.id) !== undefined) return [file];
  }
  return [];
}

function lossOf(media: MediaRecord) {
  switch (media.availability) {
    case 'available':
      return media.localPath === undefined ? ('file_body_not_in_export' as const) : undefined;
    case 'hidden_by_limit':
      return 'file_hidden_by_limit' as const;
    case 'tombstone':
      return 'file_tombstone' as const;
    case 'access_denied':
      return 'file_access_denied' as const;
    case 'external':
      return 'file_external' as const;
  }
}

/** One reaction event per (emoji, user); `users` lists truncated by the export are counted. */
function pushReactions(
  items: SourceItem[],
  reactions: unknown[],
  target: EventKey,
  micros: number,
  ts: string,
  ctx: SlackMessageContext,
  where: string,
): void {
  const millis = microsToMillis(micros);
  for (const r of reactions) {
    const reaction = obj(r);
    const name = nonEmpty(reaction?.name);
    if (reaction === undefined || name === undefined) continue;
    const users = [...new Set(strings(reaction.users))];
    const count = num(reaction.count);
    if (count !== undefined && count > users.length) {
      items.push({
        type: 'loss',
        reason: 'reaction_users_truncated',
        where,
        count: count - users.length,
      });
    }
    for (const user of users) {
      items.push({
        type: 'event',
        event: {
          key: slackDerivedKey(target, `reaction:${name}:${user}`),
          room: ctx.room,
          sender: ctx.users.user(user),
          order: slackOrder.reaction(micros, name, user),
          ts: millis,
          source: ctx.source,
          nativeId: `${ts}/${name}/${user}`,
          kind: 'reaction',
          target,
          reaction: { format: 'slack-shortcode', name },
        },
      });
    }
  }
}
