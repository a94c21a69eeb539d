/**
 * The Slack Web API adapter: a live workspace → the same `SourceItem`s as the export adapter
 * (src/sources/slack), with the same keys, so an export ingest and an API ingest of one
 * workspace meet in one set of users, rooms and events.
 *
 * Contract:
 * - Users (`users.list`), conversations (`conversations.list`: public, private, mpim, im,
 *   archived included, with `conversations.members`), pins (`pins.list`) and messages are
 *   mapped by the export adapter's own functions (`slackUserRecord`, `slackConversation`,
 *   `indexPinEvents`, `slackMessageItems`): API objects have the shape of export entries.
 * - Messages: `conversations.history` newest first (limit 999), each root's thread through
 *   `conversations.replies`. After each history page (with its threads) comes a `checkpoint`
 *   with the conversation's watermark (src/model/watermark.ts), so the ingest commits the page
 *   and the watermark together: a crash loses at most the page in flight, and a rerun resumes
 *   the unfinished pass at its low point. A finished pass sets `complete` to its newest ts;
 *   the next pass reads from `complete` minus `refetchDays` (edits, reactions, replies).
 * - File bodies are not fetched here: files are recorded with their `url_private_download`,
 *   which `ferry push --download-media` fetches with `$SLACK_TOKEN` (as for exports without
 *   bodies; each one is a `file_body_not_in_export` loss).
 * - A conversation or method the token cannot read (missing_scope, not_in_channel,
 *   channel_not_found) is counted in `report` and skipped; token errors and transport
 *   failures throw (slack-api-client.ts).
 * - `report.limited_app` turns true when a history page is cut at 15 messages with has_more:
 *   the non-Marketplace limit. History and replies then go on at Tier 1 with limit 15, and
 *   `onNotice` is told once.
 */
import { FerryError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import type {
  ConversationWatermark,
  RoomKey,
  RoomKind,
  RoomRecord,
  SourceItem,
  SourceKey,
} from '../../model/index.js';
import { arr, nonEmpty, num, obj, str, type JsonObject } from '../slack/json-guards.js';
import { slackConversation } from '../slack/slack-conversations.js';
import { indexPinEvents } from '../slack/slack-export.js';
import { slackSourceKey, slackSpaceKey } from '../slack/slack-keys.js';
import { slackMessageItems, type SlackMessageContext } from '../slack/slack-messages.js';
import { canonicalSlackTs, slackTsToMicros } from '../slack/slack-ts.js';
import {
  SlackPlaceholderCollector,
  SlackUserDirectory,
  slackUserRecord,
} from '../slack/slack-users.js';
import { MethodPacer, type SlackTier } from './pacer.js';
import { SlackApiClient, type SlackCallResult } from './slack-api-client.js';
import { unreadableReason, type SlackApiReport } from './slack-api-report.js';
import type { RetryOptions } from '@slack/web-api';

export interface SlackApiSourceOptions {
  token: string;
  /** Web API base URL ending in `/` (default https://slack.com/api/). */
  apiUrl?: string;
  logger?: Logger;
  /** Stored watermarks by source key, then conversation ID (read by the CLI). */
  watermarks?: ReadonlyMap<string, ReadonlyMap<string, ConversationWatermark>>;
  /** Days re-read before each conversation's watermark (default 7). */
  refetchDays?: number;
  /** Display name of the workspace space (default: team.info's name). */
  workspaceName?: string;
  /** Requests per minute by tier (default Slack's: 1, 20, 50, 100). Tests raise them. */
  tierLimits?: Partial<Record<SlackTier, number>>;
  retryConfig?: RetryOptions;
  /** History/replies page size (default 999) and list page size (default 200). */
  pageSize?: number;
  listPageSize?: number;
  /** Said once, for the user's terminal (the non-Marketplace limit). */
  onNotice?: (message: string) => void;
  /** The clock (ms), for the `latest` of new passes. */
  now?: () => number;
}

const CONVERSATION_TYPES: readonly { type: string; kind: RoomKind }[] = [
  { type: 'public_channel', kind: 'channel' },
  { type: 'private_channel', kind: 'private' },
  { type: 'mpim', kind: 'group_dm' },
  { type: 'im', kind: 'dm' },
];

/** What the non-Marketplace limit allows per page of history/replies. */
const LIMITED_PAGE = 15;
const DAY_MICROS = 86_400_000_000;

interface Conversation {
  id: string;
  room: RoomRecord;
  raw: JsonObject;
}

export class SlackApiSource {
  readonly report: SlackApiReport;
  /** emoji.list's map (name → URL or `alias:name`) once read; the CLI stores it. */
  emoji: Record<string, string> | undefined;
  readonly #o: SlackApiSourceOptions;
  readonly #api: SlackApiClient;
  readonly #logger: Logger;
  #pageSize: number;
  #placeholdersSeen = -1;

  constructor(o: SlackApiSourceOptions) {
    this.#o = o;
    this.#logger = o.logger ?? silentLogger;
    this.#pageSize = o.pageSize ?? 999;
    this.#api = new SlackApiClient({
      token: o.token,
      apiUrl: o.apiUrl,
      logger: this.#logger,
      pacer: new MethodPacer(o.tierLimits),
      retryConfig: o.retryConfig,
    });
    this.report = {
      team_id: '',
      enterprise_id: null,
      team_name: '',
      conversations: { listed: 0, read: 0, unreadable: {} },
      unreadable: [],
      missing_scopes: [],
      messages: 0,
      threads: 0,
      files: 0,
      emoji: null,
      requests: this.#api.requests,
      rate_limited: 0,
      limited_app: false,
    };
  }

  async *items(): AsyncGenerator<SourceItem> {
    try {
      yield* this.#items();
    } finally {
      this.report.rate_limited = this.#api.rateLimited;
    }
  }

  async *#items(): AsyncGenerator<SourceItem> {
    const auth = await this.#must('auth.test', {});
    const teamId = nonEmpty(auth.team_id) ?? '';
    const enterpriseId = nonEmpty(auth.enterprise_id);
    this.report.team_id = teamId;
    this.report.enterprise_id = enterpriseId ?? null;
    const team = await this.#soft('team.info', {}, '');
    const teamName = nonEmpty(obj(team?.team)?.name) ?? nonEmpty(auth.team) ?? teamId;
    this.report.team_name = teamName;

    const rawUsers = await this.#list('users.list', {}, 'members');
    const directory = new SlackUserDirectory();
    for (const u of rawUsers) directory.learn(u);
    const workspaceId = directory.workspaceId() ?? enterpriseId ?? teamId;
    const source = slackSourceKey(workspaceId);
    const name = this.#o.workspaceName ?? teamName;
    yield { type: 'source', source: { key: source, kind: 'slack', name } };
    const space = slackSpaceKey(workspaceId);
    yield { type: 'room', room: spaceRoom(space, source, workspaceId, name) };
    for (const raw of rawUsers) {
      const user = slackUserRecord(raw, source);
      if (user !== undefined) yield { type: 'user', user };
    }
    const users = new SlackPlaceholderCollector(directory);
    const conversations = await this.#conversations(source, space, users);
    for (const c of conversations) yield { type: 'room', room: c.room };
    await this.#emoji(enterpriseId !== undefined && teamId !== '' ? { team_id: teamId } : {});

    const stored = this.#o.watermarks?.get(source);
    for (const [index, c] of conversations.entries()) {
      yield* this.#conversation(c, source, users, directory, stored?.get(c.id));
      const label = c.room.name ?? c.id;
      yield {
        type: 'progress',
        done: index + 1,
        total: conversations.length,
        unit: 'entries',
        label,
      };
    }
    yield* this.#placeholders(users, source);
  }

  /** Every conversation of every type (archived included), each once, with its members. */
  async #conversations(
    source: SourceKey,
    space: RoomKey,
    users: SlackPlaceholderCollector,
  ): Promise<Conversation[]> {
    const conversations: Conversation[] = [];
    for (const { type, kind } of CONVERSATION_TYPES) {
      const listed = await this.#list(
        'conversations.list',
        { types: type, exclude_archived: false },
        'channels',
      );
      for (const c of listed) {
        const raw = obj(c);
        const id = nonEmpty(raw?.id);
        if (raw === undefined || id === undefined || conversations.some((x) => x.id === id))
          continue;
        const members = await this.#list('conversations.members', { channel: id }, 'members', id);
        if (members.length > 0) raw.members = members;
        const conversation = slackConversation(raw, kind, {
          source,
          parent: space,
          users,
          folderPrefix: '',
        });
        if (conversation !== undefined) conversations.push({ id, room: conversation.room, raw });
      }
    }
    this.report.conversations.listed = conversations.length;
    return conversations;
  }

  /** The workspace's custom emoji (`team_id` on an Enterprise Grid workspace). */
  async #emoji(args: Record<string, string>): Promise<void> {
    const emoji = await this.#soft('emoji.list', args, '');
    if (emoji === undefined) return;
    const map = obj(emoji.emoji) ?? {};
    this.emoji = Object.fromEntries(
      Object.entries(map).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    this.report.emoji = Object.keys(this.emoji).length;
  }

  /** Pins, then the unfinished pass (if any), then a new pass; each page checkpointed. */
  async *#conversation(
    c: Conversation,
    source: SourceKey,
    users: SlackPlaceholderCollector,
    directory: SlackUserDirectory,
    stored: ConversationWatermark | undefined,
  ): AsyncGenerator<SourceItem> {
    const pins = await this.#soft('pins.list', { channel: c.id }, c.id);
    if (pins !== undefined) {
      const list = (arr(pins.items) ?? []).flatMap((p) => {
        const item = obj(p);
        const ts = nonEmpty(obj(item?.message)?.ts);
        return ts === undefined ? [] : [{ id: ts, user: item?.created_by, created: item?.created }];
      });
      yield* indexPinEvents({ pins: list }, c.room, source, users);
    }
    let mark: ConversationWatermark = stored ?? {
      kind: 'slack_conversation',
      source,
      conversation: c.id,
    };
    const ctx: SlackMessageContext = {
      source,
      conversationId: c.id,
      room: c.room.key,
      users,
      directory,
      localFiles: new Map(),
      folder: '',
      where: `slack-api ${c.id}`,
    };
    let readable = true;
    if (mark.pass !== undefined) {
      const pass = mark.pass;
      const result = yield* this.#pass(ctx, users, mark, pass.low, pass.floor, pass.top);
      if (result === undefined) readable = false;
      else mark = result;
    }
    if (readable) {
      const floor =
        mark.complete === undefined
          ? '0'
          : canonicalSlackTs(
              Math.max(
                0,
                (slackTsToMicros(mark.complete) ?? 0) - (this.#o.refetchDays ?? 7) * DAY_MICROS,
              ),
            );
      const latest = String(Math.floor((this.#o.now ?? Date.now)() / 1000) + 1);
      const result = yield* this.#pass(ctx, users, mark, latest, floor, undefined);
      if (result === undefined) readable = false;
    }
    if (readable) this.report.conversations.read += 1;
  }

  /**
   * One pass over (floor, latest), newest first. Returns the final watermark, or undefined
   * when the conversation cannot be read (counted).
   */
  async *#pass(
    ctx: SlackMessageContext,
    users: SlackPlaceholderCollector,
    mark: ConversationWatermark,
    latest: string,
    floor: string,
    top: string | undefined,
  ): AsyncGenerator<SourceItem, ConversationWatermark | undefined> {
    let cursor: string | undefined;
    let highest = top;
    for (;;) {
      const page = await this.#api.call('conversations.history', {
        channel: ctx.conversationId,
        latest,
        oldest: floor,
        inclusive: false,
        limit: this.#pageSize,
        ...(cursor === undefined ? {} : { cursor }),
      });
      if (!page.ok) {
        this.#unreadable(ctx.conversationId, 'conversations.history', page);
        return undefined;
      }
      const messages = (arr(page.data.messages) ?? []).map(obj).filter(isJson);
      const hasMore = page.data.has_more === true;
      this.#detectLimit(messages.length, hasMore);
      const replies = await this.#threads(ctx.conversationId, messages);
      const all = dedupeByTs([...messages, ...replies]);
      this.report.messages += messages.length + replies.length;
      for (const m of all) {
        for (const item of slackMessageItems(m, ctx)) {
          if (item.type === 'media') this.report.files += 1;
          yield item;
        }
      }
      const pageTop = maxTs(messages);
      if (pageTop !== undefined && (highest === undefined || compareTs(pageTop, highest) > 0))
        highest = pageTop;
      yield* this.#placeholders(users, ctx.source);
      cursor = nonEmpty(obj(page.data.response_metadata)?.next_cursor);
      const pageLow = minTs(messages);
      if (hasMore && cursor !== undefined && pageLow !== undefined && highest !== undefined) {
        const watermark: ConversationWatermark = {
          ...mark,
          pass: { top: highest, low: pageLow, floor },
        };
        yield { type: 'checkpoint', watermark };
        continue;
      }
      const complete =
        highest === undefined
          ? mark.complete
          : mark.complete === undefined || compareTs(highest, mark.complete) > 0
            ? highest
            : mark.complete;
      const done: ConversationWatermark = {
        kind: 'slack_conversation',
        source: mark.source,
        conversation: mark.conversation,
        complete,
      };
      yield { type: 'checkpoint', watermark: done };
      return done;
    }
  }

  /** The replies of every thread root on the page (the root itself left out). */
  async #threads(channel: string, messages: JsonObject[]): Promise<JsonObject[]> {
    const out: JsonObject[] = [];
    for (const m of messages) {
      const ts = str(m.ts);
      if (ts === undefined || (num(m.reply_count) ?? 0) === 0 || (m.thread_ts ?? ts) !== ts)
        continue;
      this.report.threads += 1;
      const replies = await this.#list(
        'conversations.replies',
        { channel, ts, limit: this.#pageSize },
        'messages',
        channel,
      );
      for (const r of replies) {
        const reply = obj(r);
        if (reply !== undefined && reply.ts !== ts) out.push(reply);
      }
    }
    return out;
  }

  #detectLimit(count: number, hasMore: boolean): void {
    if (this.report.limited_app || !hasMore || count !== LIMITED_PAGE) return;
    if (this.#pageSize <= LIMITED_PAGE) return;
    this.report.limited_app = true;
    this.#pageSize = LIMITED_PAGE;
    this.#api.pacer.setTier('conversations.history', 1);
    this.#api.pacer.setTier('conversations.replies', 1);
    const message =
      'Slack cut conversations.history pages at 15 messages: this token belongs to a commercially distributed app that is not on the Slack Marketplace, limited to 1 request a minute and 15 messages per page. Going on at that pace; an internal (customer-built) app or a Marketplace app keeps the normal limits.';
    this.#logger.warn({ limited_app: true }, message);
    this.#o.onNotice?.(message);
  }

  *#placeholders(users: SlackPlaceholderCollector, source: SourceKey): Generator<SourceItem> {
    if (users.version === this.#placeholdersSeen) return;
    this.#placeholdersSeen = users.version;
    for (const user of users.records(source)) yield { type: 'user', user };
  }

  /** A call that must succeed (auth.test): any `ok: false` stops the run. */
  async #must(method: string, args: Record<string, unknown>): Promise<JsonObject> {
    const r = await this.#api.call(method, args);
    if (r.ok) return r.data;
    throw new FerryError('input_unsupported', `Slack ${method} failed: ${r.error}`);
  }

  /** A call whose `ok: false` is reported and skipped (undefined). */
  async #soft(
    method: string,
    args: Record<string, unknown>,
    conversation: string,
  ): Promise<JsonObject | undefined> {
    const r = await this.#api.call(method, args);
    if (r.ok) return r.data;
    this.#unreadable(conversation, method, r);
    return undefined;
  }

  /** Every page of a cursor-paginated method; what was read before an error is kept. */
  async #list(
    method: string,
    args: Record<string, unknown>,
    field: string,
    conversation = '',
  ): Promise<unknown[]> {
    const out: unknown[] = [];
    let cursor: string | undefined;
    do {
      const r = await this.#api.call(method, {
        limit: this.#o.listPageSize ?? 200,
        ...args,
        ...(cursor === undefined ? {} : { cursor }),
      });
      if (!r.ok) {
        this.#unreadable(conversation, method, r);
        break;
      }
      out.push(...(arr(r.data[field]) ?? []));
      cursor = nonEmpty(obj(r.data.response_metadata)?.next_cursor);
    } while (cursor !== undefined);
    return out;
  }

  #unreadable(
    conversation: string,
    method: string,
    r: Extract<SlackCallResult, { ok: false }>,
  ): void {
    const reason = unreadableReason(r.error);
    const counts = this.report.conversations.unreadable;
    if (method === 'conversations.history') counts[reason] = (counts[reason] ?? 0) + 1;
    this.report.unreadable.push({ conversation, method, reason, error: r.error });
    for (const scope of (r.needed ?? '').split(',')) {
      const s = scope.trim();
      if (s !== '' && !this.report.missing_scopes.includes(s)) this.report.missing_scopes.push(s);
    }
    this.#logger.warn({ conversation, method, error: r.error }, 'slack: cannot read');
  }
}

function spaceRoom(key: RoomKey, source: SourceKey, nativeId: string, name: string): RoomRecord {
  return {
    key,
    source,
    nativeId,
    kind: 'space',
    name,
    isArchived: false,
    isGeneral: false,
    members: [],
  };
}

const isJson = (v: JsonObject | undefined): v is JsonObject => v !== undefined;

function compareTs(a: string, b: string): number {
  return (slackTsToMicros(a) ?? 0) - (slackTsToMicros(b) ?? 0);
}

function maxTs(messages: JsonObject[]): string | undefined {
  let best: number | undefined;
  for (const m of messages) {
    const micros = slackTsToMicros(m.ts);
    if (micros !== undefined && (best === undefined || micros > best)) best = micros;
  }
  return best === undefined ? undefined : canonicalSlackTs(best);
}

function minTs(messages: JsonObject[]): string | undefined {
  let best: number | undefined;
  for (const m of messages) {
    const micros = slackTsToMicros(m.ts);
    if (micros !== undefined && (best === undefined || micros < best)) best = micros;
  }
  return best === undefined ? undefined : canonicalSlackTs(best);
}

/** In ts order, each ts once (a broadcast reply is in the history and in its thread). */
function dedupeByTs(messages: JsonObject[]): JsonObject[] {
  const byTs = new Map<number, JsonObject>();
  for (const m of messages) {
    const micros = slackTsToMicros(m.ts) ?? -1;
    if (!byTs.has(micros)) byTs.set(micros, m);
  }
  return [...byTs.entries()].sort((a, b) => a[0] - b[0]).map(([, m]) => m);
}
