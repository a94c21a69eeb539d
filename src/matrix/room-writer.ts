/**
 * The per-room ordered writer. One room at a time per writer, strictly in order key order, one
 * event in flight: `?ts=` sets `origin_server_ts` but never the position in the timeline, so
 * order can only come from the order of sends.
 *
 * Exactly once: every Matrix event ferry sends has a ledger row written (pending) before the
 * request and updated (sent, with its event ID) after it, and carries its provenance in the
 * content. After a crash, a room's pending row is reconciled against the room's tail before
 * anything else is sent, and a resend reuses the same transaction ID.
 */
import type { Knex } from 'knex';
import type { Logger } from '../logger.js';
import type {
  EventKey,
  MediaKey,
  MediaRecord,
  RoomKey,
  TimelineEvent,
  UserKey,
} from '../model/index.js';
import { eventFromRow, type EventRow } from '../model/event-payload.js';
import type { MatrixClient } from './client.js';
import { MatrixHttpError, MatrixNetworkError } from './client-errors.js';
import { matrixEventKey } from '../model/matrix-keys.js';
import {
  eventToMatrix,
  linkedEventIds,
  PROVENANCE_KEY,
  type ContentContext,
  type MatrixSend,
  type MigratedEvent,
} from './event-content.js';
import type { CatalogRoom, CustomEmojiTable, PushCatalog } from './push-catalog.js';
import { txnIdFor, type LedgerRow, type PushState } from './push-state.js';
import type { EventId, JsonObject, RoomId, UserId } from './types.js';

export interface MediaResolver {
  /** Uploads (once) and returns the record and its mxc URI when the body could be uploaded. */
  resolve(key: MediaKey): Promise<{ record: MediaRecord; mxc?: string } | undefined>;
}

export interface RoomWriterOptions {
  client: MatrixClient;
  state: PushState;
  catalog: PushCatalog;
  db: Knex;
  media: MediaResolver;
  botUserId: UserId;
  appserviceId: string;
  logger: Logger;
  /** Send events that are older than what the room already shows (normally only counted). */
  appendLate: boolean;
  /** Set read markers of every member at the end of the room. */
  readMarkers: boolean;
  /** React with custom emoji images (mxc keys) instead of `:name:` text. */
  imageReactions?: boolean;
  pageSize?: number;
  /** Called after each Matrix event sent (progress). */
  onSent?: (roomKey: RoomKey) => void;
  /** Called every few events so the caller can renew the room's lease. */
  onHeartbeat?: () => Promise<void>;
  /** Injectable for tests; waits between checked resends. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RoomWriteResult {
  sent: number;
  alreadySent: number;
  skipped: Record<string, number>;
  /** Events older than what the room already held; counted, not sent (unless appendLate). */
  late: number;
  reconciled: number;
}

/** Relation-like events may be appended late: their position does not matter to clients. */
const LATE_OK = new Set<TimelineEvent['kind']>(['reaction', 'pin', 'edit', 'redaction']);
const EVENT_ID_CACHE_LIMIT = 100_000;
/**
 * Sends are never resent blindly by the client: after an ambiguous failure the writer first
 * looks for the event in the room (see `tracked`).
 */
const ONCE = { retry: 'throttle_only' } as const;
const AMBIGUOUS_ATTEMPTS = 10;
/** Ledger note of pin events: they are applied as one m.room.pinned_events state at the end. */
const PINNED_AT_END = 'pinned_at_end';

export class RoomWriter {
  private readonly eventIds = new Map<string, string>();
  private readonly threadLatest = new Map<string, string>();
  /** Old Matrix event ID → where it was migrated (targets of matrix.to links). */
  private readonly migrated = new Map<string, MigratedEvent>();
  private members = new Map<UserKey, string>();
  private result: RoomWriteResult = {
    sent: 0,
    alreadySent: 0,
    skipped: {},
    late: 0,
    reconciled: 0,
  };
  private roomId!: RoomId;
  private room!: CatalogRoom;
  private lastEventId: string | undefined;
  private mediaCache = new Map<string, { record: MediaRecord; mxc?: string } | undefined>();
  /** The room's custom Slack emoji, read at the start of `write` (uploaded after the catalog loaded). */
  private customEmoji: CustomEmojiTable = new Map();

  constructor(private readonly o: RoomWriterOptions) {}

  async write(roomKey: RoomKey, roomId: RoomId): Promise<RoomWriteResult> {
    const room = this.o.catalog.rooms.get(roomKey);
    if (room === undefined) throw new Error(`room ${roomKey} is not in the store`);
    this.room = room;
    this.roomId = roomId;
    this.customEmoji =
      room.sourceKind === 'slack'
        ? await this.o.catalog.customEmoji(room.record.source)
        : new Map();
    this.members = await this.o.state.members(roomKey);
    this.members.set(botKey, 'join');
    await this.reconcile(roomKey);
    const highWater = (await this.o.state.room(roomKey))?.high_water ?? null;

    let cursor = '';
    const pageSize = this.o.pageSize ?? 500;
    for (;;) {
      const rows = (await this.o
        .db('events')
        .where('room_key', roomKey)
        .andWhere('order_key', '>', cursor)
        .orderBy('order_key')
        .limit(pageSize)) as EventRow[];
      if (rows.length === 0) break;
      const events = rows.map(eventFromRow);
      cursor = events[events.length - 1]!.order;
      const ledger = await this.o.state.ledgerFor(events.map((e) => e.key));
      const byPart = new Map(ledger.map((r) => [`${r.event_key}#${r.part}`, r]));
      await this.preload(events, byPart);
      for (const event of events) {
        const known = byPart.has(`${event.key}#0`) || byPart.has(`${event.key}#1`);
        if (
          !known &&
          highWater !== null &&
          event.order < highWater &&
          !LATE_OK.has(event.kind) &&
          !this.o.appendLate
        ) {
          this.result.late += 1;
          continue;
        }
        await this.writeEvent(event, byPart);
      }
      await this.o.onHeartbeat?.();
    }
    await this.finishRoom(roomKey);
    return this.result;
  }

  /** The single in-flight event of a crashed run: find it in the room's tail, or leave it to be resent. */
  private async reconcile(roomKey: RoomKey): Promise<void> {
    const pending = await this.o.state.pendingFor(roomKey);
    if (pending.length === 0) return;
    const page = await this.o.client.messages(this.roomId, { dir: 'b', limit: 100 });
    const found = new Map<string, string>();
    for (const ev of page.chunk) {
      const p = ev.content[PROVENANCE_KEY] as { key?: unknown; part?: unknown } | undefined;
      if (p !== undefined && typeof p.key === 'string')
        found.set(`${p.key}#${String(p.part)}`, ev.event_id);
    }
    for (const row of pending) {
      const eventId = found.get(`${row.event_key}#${row.part}`);
      if (eventId !== undefined) {
        await this.o.state.markSent(row.event_key, row.part, eventId);
        this.result.reconciled += 1;
      }
    }
    this.o.logger.info(
      { room: roomKey, pending: pending.length, reconciled: this.result.reconciled },
      'reconciled',
    );
  }

  /** Loads event IDs of relation targets and uploads the media a page needs, before its sends. */
  private async preload(events: TimelineEvent[], byPart: Map<string, LedgerRow>): Promise<void> {
    for (const row of byPart.values())
      if (row.status === 'sent' && row.event_id !== null && row.part === 0)
        this.rememberId(row.event_key, row.event_id);
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
        this.rememberId(row.event_key, row.event_id);
    }
    // Targets of matrix.to links in Matrix-origin text, wherever they were migrated to.
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
    for (const e of events) {
      if (e.kind === 'file' && !this.mediaCache.has(e.media) && !byPart.has(`${e.key}#0`)) {
        this.mediaCache.set(e.media, await this.o.media.resolve(e.media));
      }
    }
  }

  private rememberId(key: string, eventId: string): void {
    if (this.eventIds.size >= EVENT_ID_CACHE_LIMIT) this.eventIds.clear();
    this.eventIds.set(key, eventId);
  }

  private context(): ContentContext {
    return {
      room: this.room.record,
      imageReactions: this.o.imageReactions === true,
      mxidOf: (user) => this.o.catalog.users.get(user)?.mxid ?? this.o.botUserId,
      displayNameOf: (user) => this.o.catalog.users.get(user)?.displayName,
      eventIdOf: (key) => this.eventIds.get(key),
      latestInThread: (root) => this.threadLatest.get(root),
      mentions: {
        user: (nativeId) => {
          const key = this.o.catalog.userByNativeId.get(nativeId);
          const user = key === undefined ? undefined : this.o.catalog.users.get(key);
          return user === undefined
            ? undefined
            : { mxid: user.mxid, displayName: user.displayName };
        },
        channel: (nativeId) => {
          const key = this.o.catalog.roomByNativeId.get(nativeId);
          const room = key === undefined ? undefined : this.o.catalog.rooms.get(key);
          return room === undefined
            ? undefined
            : { target: room.alias, name: room.record.name ?? nativeId };
        },
        customEmoji: (name) => this.customEmoji.get(name),
      },
      media: (key) => this.mediaCache.get(key),
      emojiAlias: (name) => this.o.catalog.emojiAliases.get(name),
      // Not in the ledger when the page was preloaded, but sent since by this writer (earlier
      // in the same page): then it is in this room.
      migratedEvent: (oldEventId) => {
        const found = this.migrated.get(oldEventId);
        if (found !== undefined) return found;
        const eventId = this.eventIds.get(matrixEventKey(oldEventId));
        return eventId === undefined ? undefined : { roomId: this.roomId, eventId };
      },
    };
  }

  private async writeEvent(event: TimelineEvent, byPart: Map<string, LedgerRow>): Promise<void> {
    if (!this.o.catalog.users.has(event.sender)) {
      await this.skip(event, 0, 'unknown_sender');
      return;
    }
    const outcome = eventToMatrix(event, this.context());
    switch (outcome.outcome) {
      case 'skip':
        if (byPart.get(`${event.key}#0`)?.status !== 'skipped')
          await this.skip(event, 0, outcome.reason);
        return;
      case 'writer':
        switch (outcome.handledBy) {
          case 'membership':
            if (event.kind === 'membership') await this.membership(event, byPart);
            return;
          case 'pin':
            // Applied as m.room.pinned_events at the end of the room; recorded so the room counts as written.
            if (!byPart.has(`${event.key}#0`)) await this.skip(event, 0, PINNED_AT_END);
            return;
          case 'redaction':
            if (event.kind === 'redaction') await this.redaction(event, byPart);
            return;
        }
        return;
      case 'send':
        await this.ensureJoined(event.sender, event, byPart);
        for (const send of outcome.sends) await this.sendPart(event, send, byPart);
        return;
    }
  }

  private async skip(event: TimelineEvent, part: number, note: string): Promise<void> {
    if (note !== PINNED_AT_END) this.result.skipped[note] = (this.result.skipped[note] ?? 0) + 1;
    await this.o.state.markSkipped({
      event_key: event.key,
      part,
      room_key: event.room,
      order_key: event.order,
      txn_id: txnIdFor(this.o.appserviceId, event.key, part),
      note,
    });
  }

  private async sendPart(
    event: TimelineEvent,
    send: MatrixSend,
    byPart: Map<string, LedgerRow>,
  ): Promise<void> {
    const sender = this.o.catalog.users.get(event.sender)?.mxid ?? this.o.botUserId;
    // Join-rule changes need power the original author may not have had in Matrix.
    const asUser =
      send.kind === 'state' && send.type === 'm.room.join_rules' ? this.o.botUserId : sender;
    const eventId = await this.tracked(
      event.key,
      send.part,
      event.order,
      asUser,
      event.ts,
      byPart,
      (txnId) =>
        send.kind === 'message'
          ? this.o.client.sendEvent(this.roomId, send.type, txnId, send.content as JsonObject, {
              userId: asUser,
              ts: event.ts,
              ...ONCE,
            })
          : this.o.client.sendState(
              this.roomId,
              send.type,
              send.stateKey,
              send.content as JsonObject,
              { userId: asUser, ts: event.ts, ...ONCE },
            ),
    );
    if (send.part === 0) this.rememberId(event.key, eventId);
    if (event.thread !== undefined) this.threadLatest.set(event.thread.root, eventId);
  }

  /**
   * Sends one ledger-tracked Matrix event unless the ledger says it is already there.
   * Returns its event ID.
   */
  private async tracked(
    key: string,
    part: number,
    orderKey: string,
    sender: string,
    ts: number,
    byPart: Map<string, LedgerRow> | undefined,
    send: (txnId: string) => Promise<EventId>,
  ): Promise<string> {
    const row =
      byPart?.get(`${key}#${part}`) ??
      (await this.o.state.ledgerFor([key])).find((r) => r.part === part);
    if (row?.status === 'sent' && row.event_id !== null) {
      this.result.alreadySent += 1;
      return row.event_id;
    }
    const txnId = row?.txn_id ?? txnIdFor(this.o.appserviceId, key, part);
    if (row === undefined) {
      await this.o.state.markPending({
        event_key: key,
        part,
        room_key: this.room.record.key,
        order_key: orderKey,
        txn_id: txnId,
        sender,
        ts,
      });
    }
    const eventId = await this.sendChecked(key, part, () => send(txnId));
    await this.o.state.markSent(key, part, eventId);
    this.lastEventId = eventId;
    this.result.sent += 1;
    this.o.onSent?.(this.room.record.key);
    if (this.result.sent % 50 === 0) await this.o.onHeartbeat?.();
    return eventId;
  }

  /**
   * One send, resent only after checking it did not land: when a response is lost (5xx,
   * connection reset) the event may be stored, and Synapse's transaction cache does not survive
   * a restart, so a blind resend could duplicate it.
   */
  private async sendChecked(
    key: string,
    part: number,
    send: () => Promise<EventId>,
  ): Promise<string> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await send();
      } catch (e) {
        if (!isAmbiguousFailure(e) || attempt >= AMBIGUOUS_ATTEMPTS) throw e;
        this.o.logger.warn(
          { key, part, attempt, err: e instanceof Error ? e.message : String(e) },
          'send failed; checking the room before resending',
        );
        await (this.o.sleep ?? defaultSleep)(Math.min(30_000, 250 * 2 ** (attempt - 1)));
        const landed = await this.findInTail(key, part).catch(() => undefined);
        if (landed !== undefined) return landed;
      }
    }
  }

  /** The event ID of a provenance key in the room's last events, if it is there. */
  private async findInTail(key: string, part: number): Promise<string | undefined> {
    const page = await this.o.client.messages(this.roomId, { dir: 'b', limit: 50 });
    for (const ev of page.chunk) {
      const p = ev.content[PROVENANCE_KEY] as { key?: unknown; part?: unknown } | undefined;
      if (p?.key === key && p.part === part) return ev.event_id;
    }
    return undefined;
  }

  private provenance(key: string, part: number): JsonObject {
    return { [PROVENANCE_KEY]: { key, part } };
  }

  /** Invites into DMs and group DMs say so, as clients expect. */
  private directFlag(): JsonObject {
    const kind = this.room.record.kind;
    return kind === 'dm' || kind === 'group_dm' ? { is_direct: true } : {};
  }

  private get inviteOnly(): boolean {
    return this.room.record.kind !== 'channel' && this.room.record.kind !== 'space';
  }

  /** Joins a historical author before their first event (invited first in invite-only rooms). */
  private async ensureJoined(
    user: UserKey,
    trigger: TimelineEvent,
    byPart: Map<string, LedgerRow>,
  ): Promise<void> {
    if (this.members.get(user) === 'join') return;
    const key = `member:${trigger.room}:${user}:${trigger.key}`;
    await this.join(user, key, trigger, byPart);
  }

  private async join(
    user: UserKey,
    key: string,
    at: TimelineEvent,
    byPart: Map<string, LedgerRow> | undefined,
  ): Promise<void> {
    const mxid = this.o.catalog.user(user).mxid;
    if (this.inviteOnly && this.members.get(user) !== 'invite') {
      await this.tracked(key, 1, at.order, this.o.botUserId, at.ts, byPart, () =>
        this.o.client.sendState(
          this.roomId,
          'm.room.member',
          mxid,
          { membership: 'invite', ...this.directFlag(), ...this.provenance(key, 1) },
          { userId: this.o.botUserId, ts: at.ts, ...ONCE },
        ),
      );
      await this.setMember(user, 'invite');
    }
    await this.tracked(key, 0, at.order, mxid, at.ts, byPart, () =>
      this.o.client.sendState(
        this.roomId,
        'm.room.member',
        mxid,
        { membership: 'join', ...this.provenance(key, 0) },
        { userId: mxid, ts: at.ts, ...ONCE },
      ),
    );
    await this.setMember(user, 'join');
  }

  private async setMember(user: UserKey, membership: string): Promise<void> {
    this.members.set(user, membership);
    await this.o.state.setMembership(this.room.record.key, user, membership);
  }

  private async membership(
    event: Extract<TimelineEvent, { kind: 'membership' }>,
    byPart: Map<string, LedgerRow>,
  ): Promise<void> {
    const target = this.o.catalog.users.get(event.target);
    if (target === undefined) {
      await this.skip(event, 0, 'unknown_member');
      return;
    }
    const current = this.members.get(event.target);
    switch (event.membership) {
      case 'join':
        if (current === 'join') {
          if (!byPart.has(`${event.key}#0`)) await this.skip(event, 0, 'already_joined');
          return;
        }
        await this.join(event.target, event.key, event, byPart);
        return;
      case 'invite':
        if (current === 'join' || current === 'invite') {
          if (!byPart.has(`${event.key}#0`)) await this.skip(event, 0, 'already_member');
          return;
        }
        await this.tracked(event.key, 0, event.order, this.o.botUserId, event.ts, byPart, () =>
          this.o.client.sendState(
            this.roomId,
            'm.room.member',
            target.mxid,
            { membership: 'invite', ...this.provenance(event.key, 0) },
            { userId: this.o.botUserId, ts: event.ts, ...ONCE },
          ),
        );
        await this.setMember(event.target, 'invite');
        return;
      case 'leave':
      case 'kick':
      case 'ban': {
        if (current !== 'join' && current !== 'invite' && event.membership === 'leave') {
          if (!byPart.has(`${event.key}#0`)) await this.skip(event, 0, 'not_a_member');
          return;
        }
        const self = event.membership === 'leave';
        const membership = event.membership === 'ban' ? 'ban' : 'leave';
        const actor = self ? target.mxid : this.o.botUserId;
        await this.tracked(event.key, 0, event.order, actor, event.ts, byPart, () =>
          this.o.client.sendState(
            this.roomId,
            'm.room.member',
            target.mxid,
            { membership, ...this.provenance(event.key, 0) },
            { userId: actor, ts: event.ts, ...ONCE },
          ),
        );
        await this.setMember(event.target, membership);
        return;
      }
    }
  }

  /**
   * Redactions are sent as the redacting user when they are the original sender, else as the
   * bot (which holds the power to redact). A redaction of an event never sent is skipped.
   */
  private async redaction(
    event: Extract<TimelineEvent, { kind: 'redaction' }>,
    byPart: Map<string, LedgerRow>,
  ): Promise<void> {
    const target = this.eventIds.get(event.target);
    if (target === undefined) {
      if (!byPart.has(`${event.key}#0`)) await this.skip(event, 0, 'redaction_target_missing');
      return;
    }
    const redactor = this.o.catalog.users.get(event.sender)?.mxid;
    const targetSender = (await this.o.state.ledgerFor([event.target])).find(
      (r) => r.part === 0,
    )?.sender;
    // Users may redact their own events; anyone else's needs the bot's power.
    const own = redactor !== undefined && redactor === targetSender;
    const sender = own ? redactor : this.o.botUserId;
    if (own) await this.ensureJoined(event.sender, event, byPart);
    const content: JsonObject = {
      ...(event.reason === undefined ? {} : { reason: event.reason }),
      ...this.provenance(event.key, 0),
    };
    await this.tracked(event.key, 0, event.order, sender, event.ts, byPart, (txnId) =>
      this.o.client.redact(this.roomId, target as EventId, txnId, content, {
        userId: sender,
        ts: event.ts,
        ...ONCE,
      }),
    );
  }

  /**
   * End-of-room state needs power the bot lacks in an existing room it was mapped into: such a
   * refusal is recorded and reported, and the room's history still counts as written.
   */
  private async endOfRoom(
    key: string,
    orderKey: string,
    step: () => Promise<unknown>,
  ): Promise<void> {
    try {
      await step();
    } catch (e) {
      if (!(e instanceof MatrixHttpError && e.status === 403)) throw e;
      this.o.logger.warn(
        { room: this.room.record.key, step: orderKey, err: e.message },
        'end-of-room state refused',
      );
      this.result.skipped.end_of_room_state_refused =
        (this.result.skipped.end_of_room_state_refused ?? 0) + 1;
      await this.o.state.markSkipped({
        event_key: key,
        part: 0,
        room_key: this.room.record.key,
        order_key: orderKey,
        txn_id: txnIdFor(this.o.appserviceId, key, 0),
        note: 'end_of_room_state_refused',
      });
    }
  }

  /** End of the room: pins, read-only for archived rooms, read markers. */
  private async finishRoom(roomKey: RoomKey): Promise<void> {
    const pins = (await this.o
      .db('events as e')
      .join('matrix_ledger as l', (j) =>
        j
          .on('l.event_key', '=', this.o.db.raw(`e.payload->>'target'`))
          .andOn('l.part', '=', this.o.db.raw('0')),
      )
      .where({ 'e.room_key': roomKey, 'e.kind': 'pin', 'l.status': 'sent' })
      .orderBy('e.order_key')
      .select('l.event_id', 'e.ts')) as { event_id: string; ts: number }[];
    if (pins.length > 0) {
      const ids = [...new Set(pins.map((p) => p.event_id))];
      const key = `pins:${roomKey}:${ids.length}:${ids[ids.length - 1] ?? ''}`;
      const ts = Math.max(...pins.map((p) => Number(p.ts)));
      await this.endOfRoom(key, '~pins', () =>
        this.tracked(key, 0, '~pins', this.o.botUserId, ts, undefined, () =>
          this.o.client.sendState(
            this.roomId,
            'm.room.pinned_events',
            '',
            { pinned: ids, ...this.provenance(key, 0) },
            { userId: this.o.botUserId, ts, ...ONCE },
          ),
        ),
      );
    }
    if (this.room.record.isArchived) {
      const key = `archive:${roomKey}`;
      const current = (await this.o.client.getState(this.roomId, 'm.room.power_levels', '')) ?? {};
      if (current.events_default !== 100) {
        await this.endOfRoom(key, '~archive', () =>
          this.tracked(key, 0, '~archive', this.o.botUserId, Date.now(), undefined, () =>
            this.o.client.sendState(
              this.roomId,
              'm.room.power_levels',
              '',
              { ...current, events_default: 100, ...this.provenance(key, 0) },
              { userId: this.o.botUserId, ...ONCE },
            ),
          ),
        );
      }
    }
    if (this.o.readMarkers && this.lastEventId !== undefined) {
      for (const [user, membership] of this.members) {
        if (membership !== 'join' || user === botKey) continue;
        const mxid = this.o.catalog.users.get(user)?.mxid;
        if (mxid !== undefined)
          await this.o.client.setReadMarkers(this.roomId, mxid, this.lastEventId as EventId);
      }
    }
  }
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** A failure after which the request may or may not have been applied. */
function isAmbiguousFailure(e: unknown): boolean {
  if (e instanceof MatrixNetworkError) return true;
  return e instanceof MatrixHttpError && e.status >= 500;
}

/** The bot is always joined (it created the room); it has no model key of its own. */
const botKey = '\u0000bot' as UserKey;
