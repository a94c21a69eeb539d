/**
 * The end of a room, after its history: the pinned events as one `m.room.pinned_events`,
 * archived rooms made read-only, and every member's read marker at the last event.
 */
import type { RoomKey } from '../model/index.js';
import { MatrixHttpError } from './client-errors.js';
import { provenance, type LedgerSends } from './ledger-sends.js';
import { BOT_KEY, ONCE, type RoomSession, type RoomWriterOptions } from './room-session.js';
import type { EventId } from './types.js';

export class RoomEnd {
  constructor(
    private readonly o: RoomWriterOptions,
    private readonly s: RoomSession,
    private readonly sends: LedgerSends,
  ) {}

  async finish(roomKey: RoomKey): Promise<void> {
    await this.pins(roomKey);
    if (this.s.room.record.isArchived) await this.readOnly(roomKey);
    if (this.o.readMarkers && this.s.lastEventId !== undefined)
      await this.readMarkers(this.s.lastEventId as EventId);
  }

  private async pins(roomKey: RoomKey): Promise<void> {
    const { db } = this.o;
    const pins = (await db('events as e')
      .join('matrix_ledger as l', (j) =>
        j.on('l.event_key', '=', db.raw(`e.payload->>'target'`)).andOn('l.part', '=', db.raw('0')),
      )
      .where({ 'e.room_key': roomKey, 'e.kind': 'pin', 'l.status': 'sent' })
      .orderBy('e.order_key')
      .select('l.event_id', 'e.ts')) as { event_id: string; ts: number }[];
    if (pins.length === 0) return;
    const ids = [...new Set(pins.map((p) => p.event_id))];
    const key = `pins:${roomKey}:${ids.length}:${ids[ids.length - 1] ?? ''}`;
    const ts = Math.max(...pins.map((p) => Number(p.ts)));
    const bot = this.o.botUserId;
    await this.refusable(key, '~pins', () =>
      this.sends.tracked(key, 0, '~pins', bot, ts, undefined, () =>
        this.o.client.sendState(
          this.s.roomId,
          'm.room.pinned_events',
          '',
          { pinned: ids, ...provenance(key, 0) },
          { userId: bot, ts, ...ONCE },
        ),
      ),
    );
  }

  private async readOnly(roomKey: RoomKey): Promise<void> {
    const key = `archive:${roomKey}`;
    const current = (await this.o.client.getState(this.s.roomId, 'm.room.power_levels', '')) ?? {};
    if (current.events_default === 100) return;
    const bot = this.o.botUserId;
    await this.refusable(key, '~archive', () =>
      this.sends.tracked(key, 0, '~archive', bot, Date.now(), undefined, () =>
        this.o.client.sendState(
          this.s.roomId,
          'm.room.power_levels',
          '',
          { ...current, events_default: 100, ...provenance(key, 0) },
          { userId: bot, ...ONCE },
        ),
      ),
    );
  }

  private async readMarkers(lastEventId: EventId): Promise<void> {
    for (const [user, membership] of this.s.members) {
      if (membership !== 'join' || user === BOT_KEY) continue;
      const mxid = this.o.catalog.users.get(user)?.mxid;
      if (mxid !== undefined) await this.o.client.setReadMarkers(this.s.roomId, mxid, lastEventId);
    }
  }

  /**
   * End-of-room state needs power the bot lacks in an existing room it was mapped into: such a
   * refusal is recorded and reported, and the room's history still counts as written.
   */
  private async refusable(key: string, orderKey: string, step: () => Promise<unknown>) {
    try {
      await step();
    } catch (e) {
      if (!(e instanceof MatrixHttpError && e.status === 403)) throw e;
      this.o.logger.warn(
        { room: this.s.room.record.key, step: orderKey, err: e.message },
        'end-of-room state refused',
      );
      const { skipped } = this.s.result;
      skipped.end_of_room_state_refused = (skipped.end_of_room_state_refused ?? 0) + 1;
      await this.sends.markSkipped(key, 0, orderKey, 'end_of_room_state_refused');
    }
  }
}
