/**
 * The per-room ordered writer. One room at a time per writer, strictly in order key order, one
 * event in flight: `?ts=` sets `origin_server_ts` but never the position in the timeline, so
 * order can only come from the order of sends.
 *
 * Its parts: this file orders and dispatches; ledger-sends.ts makes every send exactly-once
 * (ledger rows, reconciling after a crash, checked resends); room-members.ts joins authors and
 * replays memberships; room-lookups.ts answers the content builder; room-end.ts writes the
 * end-of-room state. room-session.ts holds what they share.
 */
import type { RoomKey, TimelineEvent } from '../model/index.js';
import { eventFromRow, type EventRow } from '../model/event-payload.js';
import { eventToMatrix, type MatrixSend } from './event-content.js';
import { LedgerSends, PINNED_AT_END, provenance, type LedgerByPart } from './ledger-sends.js';
import { RoomEnd } from './room-end.js';
import { RoomLookups } from './room-lookups.js';
import { RoomMembers } from './room-members.js';
import {
  BOT_KEY,
  ONCE,
  type RoomSession,
  type RoomWriteResult,
  type RoomWriterOptions,
} from './room-session.js';
import type { EventId, JsonObject, RoomId } from './types.js';

export type { MediaResolver, RoomWriteResult, RoomWriterOptions } from './room-session.js';

/** Relation-like events may be appended late: their position does not matter to clients. */
const LATE_OK = new Set<TimelineEvent['kind']>(['reaction', 'pin', 'edit', 'redaction']);

/** The parts of one room's write, built when it starts. */
interface RoomParts {
  session: RoomSession;
  sends: LedgerSends;
  members: RoomMembers;
  lookups: RoomLookups;
}

export class RoomWriter {
  constructor(private readonly o: RoomWriterOptions) {}

  async write(roomKey: RoomKey, roomId: RoomId): Promise<RoomWriteResult> {
    const parts = await this.start(roomKey, roomId);
    await parts.sends.reconcile(roomKey);
    const highWater = (await this.o.state.room(roomKey))?.high_water ?? null;
    const late = (event: TimelineEvent, byPart: LedgerByPart) =>
      !byPart.has(`${event.key}#0`) &&
      !byPart.has(`${event.key}#1`) &&
      highWater !== null &&
      event.order < highWater &&
      !LATE_OK.has(event.kind) &&
      !this.o.appendLate;

    for await (const events of this.pages(roomKey)) {
      const ledger = await this.o.state.ledgerFor(events.map((e) => e.key));
      const byPart: LedgerByPart = new Map(ledger.map((r) => [`${r.event_key}#${r.part}`, r]));
      await parts.lookups.preload(events, byPart);
      for (const event of events) {
        if (late(event, byPart)) parts.session.result.late += 1;
        else await this.writeEvent(parts, event, byPart);
      }
      await this.o.onHeartbeat?.();
    }
    await new RoomEnd(this.o, parts.session, parts.sends).finish(roomKey);
    return parts.session.result;
  }

  private async start(roomKey: RoomKey, roomId: RoomId): Promise<RoomParts> {
    const room = this.o.catalog.rooms.get(roomKey);
    if (room === undefined) throw new Error(`room ${roomKey} is not in the store`);
    const customEmoji =
      room.sourceKind === 'slack'
        ? await this.o.catalog.customEmoji(room.record.source)
        : new Map();
    const members = await this.o.state.members(roomKey);
    members.set(BOT_KEY, 'join');
    const session: RoomSession = {
      roomId,
      room,
      members,
      result: { sent: 0, alreadySent: 0, skipped: {}, late: 0, reconciled: 0 },
      lastEventId: undefined,
    };
    const sends = new LedgerSends(this.o, session);
    return {
      session,
      sends,
      members: new RoomMembers(this.o, session, sends),
      lookups: new RoomLookups(this.o, session, customEmoji),
    };
  }

  /** The room's events in order key order, a page at a time. */
  private async *pages(roomKey: RoomKey): AsyncGenerator<TimelineEvent[]> {
    let cursor = '';
    const pageSize = this.o.pageSize ?? 500;
    for (;;) {
      const rows = (await this.o
        .db('events')
        .where('room_key', roomKey)
        .andWhere('order_key', '>', cursor)
        .orderBy('order_key')
        .limit(pageSize)) as EventRow[];
      if (rows.length === 0) return;
      const events = rows.map(eventFromRow);
      cursor = events[events.length - 1]!.order;
      yield events;
    }
  }

  private async writeEvent(p: RoomParts, event: TimelineEvent, byPart: LedgerByPart) {
    if (!this.o.catalog.users.has(event.sender)) {
      await p.sends.skip(event, 0, 'unknown_sender');
      return;
    }
    const outcome = eventToMatrix(event, p.lookups.context());
    switch (outcome.outcome) {
      case 'skip':
        if (byPart.get(`${event.key}#0`)?.status !== 'skipped')
          await p.sends.skip(event, 0, outcome.reason);
        return;
      case 'writer':
        switch (outcome.handledBy) {
          case 'membership':
            if (event.kind === 'membership') await p.members.apply(event, byPart);
            return;
          case 'pin':
            // Applied as m.room.pinned_events at the end of the room; recorded so the room counts as written.
            if (!byPart.has(`${event.key}#0`)) await p.sends.skip(event, 0, PINNED_AT_END);
            return;
          case 'redaction':
            if (event.kind === 'redaction') await this.redaction(p, event, byPart);
            return;
        }
        return;
      case 'send':
        await p.members.ensureJoined(event.sender, event, byPart);
        for (const send of outcome.sends) await this.sendPart(p, event, send, byPart);
        return;
    }
  }

  private async sendPart(
    p: RoomParts,
    event: TimelineEvent,
    send: MatrixSend,
    byPart: LedgerByPart,
  ): Promise<void> {
    const { client } = this.o;
    const roomId = p.session.roomId;
    const sender = this.o.catalog.users.get(event.sender)?.mxid ?? this.o.botUserId;
    // Join-rule changes need power the original author may not have had in Matrix.
    const asUser =
      send.kind === 'state' && send.type === 'm.room.join_rules' ? this.o.botUserId : sender;
    const options = { userId: asUser, ts: event.ts, ...ONCE };
    const content = send.content as JsonObject;
    const eventId = await p.sends.tracked(
      event.key,
      send.part,
      event.order,
      asUser,
      event.ts,
      byPart,
      (txnId) =>
        send.kind === 'message'
          ? client.sendEvent(roomId, send.type, txnId, content, options)
          : client.sendState(roomId, send.type, send.stateKey, content, options),
    );
    p.lookups.sent(event, send.part, eventId);
  }

  /**
   * Redactions are sent as the redacting user when they are the original sender, else as the
   * bot (which holds the power to redact). A redaction of an event never sent is skipped.
   */
  private async redaction(
    p: RoomParts,
    event: Extract<TimelineEvent, { kind: 'redaction' }>,
    byPart: LedgerByPart,
  ): Promise<void> {
    const target = p.lookups.eventIdOf(event.target);
    if (target === undefined) {
      if (!byPart.has(`${event.key}#0`)) await p.sends.skip(event, 0, 'redaction_target_missing');
      return;
    }
    const redactor = this.o.catalog.users.get(event.sender)?.mxid;
    const targetSender = (await this.o.state.ledgerFor([event.target])).find(
      (r) => r.part === 0,
    )?.sender;
    // Users may redact their own events; anyone else's needs the bot's power.
    const own = redactor !== undefined && redactor === targetSender;
    const sender = own ? redactor : this.o.botUserId;
    if (own) await p.members.ensureJoined(event.sender, event, byPart);
    const content: JsonObject = {
      ...(event.reason === undefined ? {} : { reason: event.reason }),
      ...provenance(event.key, 0),
    };
    await p.sends.tracked(event.key, 0, event.order, sender, event.ts, byPart, (txnId) =>
      this.o.client.redact(p.session.roomId, target as EventId, txnId, content, {
        userId: sender,
        ts: event.ts,
        ...ONCE,
      }),
    );
  }
}
