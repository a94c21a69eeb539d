/**
 * What the content builder asks while a room is written (`ContentContext`), answered from
 * memory: event IDs of relation targets, the latest event of each thread, where linked
 * Matrix-origin events were migrated to, and uploaded media. `preload` fills them from the
 * ledger (and uploads media) for a page of events before any of its sends.
 */
import type { EventKey, MediaRecord, TimelineEvent } from '../model/index.js';
import { matrixEventKey } from '../model/matrix-keys.js';
import { linkedEventIds, type ContentContext, type MigratedEvent } from './event-content.js';
import type { LedgerByPart } from './ledger-sends.js';
import type { CustomEmojiTable } from './push-catalog.js';
import type { RoomSession, RoomWriterOptions } from './room-session.js';

const EVENT_ID_CACHE_LIMIT = 100_000;

export class RoomLookups {
  private readonly eventIds = new Map<string, string>();
  private readonly threadLatest = new Map<string, string>();
  /** Old Matrix event ID → where it was migrated (targets of matrix.to links). */
  private readonly migrated = new Map<string, MigratedEvent>();
  private readonly mediaCache = new Map<
    string,
    { record: MediaRecord; mxc?: string } | undefined
  >();

  constructor(
    private readonly o: RoomWriterOptions,
    private readonly s: RoomSession,
    /** The room's custom Slack emoji (uploaded after the catalog loaded). */
    private readonly customEmoji: CustomEmojiTable,
  ) {}

  eventIdOf(key: EventKey): string | undefined {
    return this.eventIds.get(key);
  }

  /** After a send: part 0's event ID, and the thread's latest event. */
  sent(event: TimelineEvent, part: number, eventId: string): void {
    if (part === 0) this.remember(event.key, eventId);
    if (event.thread !== undefined) this.threadLatest.set(event.thread.root, eventId);
  }

  /** Loads event IDs of relation targets and uploads the media a page needs, before its sends. */
  async preload(events: TimelineEvent[], byPart: LedgerByPart): Promise<void> {
    for (const row of byPart.values())
      if (row.status === 'sent' && row.event_id !== null && row.part === 0)
        this.remember(row.event_key, row.event_id);
    await this.loadTargets(events);
    await this.loadLinked(events);
    for (const e of events) {
      if (e.kind === 'file' && !this.mediaCache.has(e.media) && !byPart.has(`${e.key}#0`)) {
        this.mediaCache.set(e.media, await this.o.media.resolve(e.media));
      }
    }
  }

  private async loadTargets(events: TimelineEvent[]): Promise<void> {
    const wanted = new Set<EventKey>();
    for (const e of events) {
      if (e.thread !== undefined) wanted.add(e.thread.root);
      if (e.replyTo !== undefined) wanted.add(e.replyTo);
      if (e.kind === 'reaction' || e.kind === 'edit' || e.kind === 'redaction' || e.kind === 'pin')
        wanted.add(e.target);
    }
    const missing = [...wanted].filter((k) => !this.eventIds.has(k));
    for (const row of await this.o.state.ledgerFor(missing)) {
      if (row.status === 'sent' && row.part === 0 && row.event_id !== null)
        this.remember(row.event_key, row.event_id);
    }
  }

  /** Targets of matrix.to links in Matrix-origin text, wherever they were migrated to. */
  private async loadLinked(events: TimelineEvent[]): Promise<void> {
    const linked = new Map<string, string>();
    for (const e of events)
      for (const id of linkedEventIds(e))
        if (!this.migrated.has(id)) linked.set(matrixEventKey(id), id);
    for (const row of await this.o.state.sentWithRoom([...linked.keys()])) {
      const id = linked.get(row.event_key);
      if (id === undefined) continue;
      if (this.migrated.size >= EVENT_ID_CACHE_LIMIT) this.migrated.clear();
      this.migrated.set(id, { roomId: row.room_id, eventId: row.event_id });
    }
  }

  private remember(key: string, eventId: string): void {
    if (this.eventIds.size >= EVENT_ID_CACHE_LIMIT) this.eventIds.clear();
    this.eventIds.set(key, eventId);
  }

  context(): ContentContext {
    const { catalog } = this.o;
    return {
      room: this.s.room.record,
      imageReactions: this.o.imageReactions === true,
      mxidOf: (user) => catalog.users.get(user)?.mxid ?? this.o.botUserId,
      displayNameOf: (user) => catalog.users.get(user)?.displayName,
      eventIdOf: (key) => this.eventIds.get(key),
      latestInThread: (root) => this.threadLatest.get(root),
      mentions: {
        user: (nativeId) => {
          const key = catalog.userByNativeId.get(nativeId);
          const user = key === undefined ? undefined : catalog.users.get(key);
          return user === undefined
            ? undefined
            : { mxid: user.mxid, displayName: user.displayName };
        },
        channel: (nativeId) => {
          const key = catalog.roomByNativeId.get(nativeId);
          const room = key === undefined ? undefined : catalog.rooms.get(key);
          return room === undefined
            ? undefined
            : { target: room.alias, name: room.record.name ?? nativeId };
        },
        customEmoji: (name) => this.customEmoji.get(name),
      },
      media: (key) => this.mediaCache.get(key),
      emojiAlias: (name) => catalog.emojiAliases.get(name),
      // Not in the ledger when the page was preloaded, but sent since by this writer (earlier
      // in the same page): then it is in this room.
      migratedEvent: (oldEventId) => {
        const found = this.migrated.get(oldEventId);
        if (found !== undefined) return found;
        const eventId = this.eventIds.get(matrixEventKey(oldEventId));
        return eventId === undefined ? undefined : { roomId: this.s.roomId, eventId };
      },
    };
  }
}
