/**
 * Exactly once: every Matrix event ferry sends has a ledger row written (pending) before the
 * request and updated (sent, with its event ID) after it, and carries its provenance in the
 * content. After a crash, a room's pending rows are reconciled against the room's tail before
 * anything else is sent, and a resend reuses the same transaction ID. A send whose response was
 * lost is resent only after checking the room's tail: Synapse's transaction cache does not
 * survive a restart, so a blind resend could duplicate it.
 */
import type { RoomKey, TimelineEvent } from '../model/index.js';
import { MatrixHttpError, MatrixNetworkError } from './client-errors.js';
import { PROVENANCE_KEY } from './event-content.js';
import { txnIdFor, type LedgerRow } from './push-state.js';
import type { RoomSession, RoomWriterOptions } from './room-session.js';
import { searchTail } from './room-tail.js';
import type { EventId, JsonObject } from './types.js';

/** Ledger note of pin events: they are applied as one m.room.pinned_events state at the end. */
export const PINNED_AT_END = 'pinned_at_end';
const AMBIGUOUS_ATTEMPTS = 10;

/** The ledger rows of a page of events, by `<event key>#<part>`. */
export type LedgerByPart = Map<string, LedgerRow>;

/** The provenance content key of one part of a model event (or of a writer-made event). */
export function provenance(key: string, part: number): JsonObject {
  return { [PROVENANCE_KEY]: { key, part } };
}

export class LedgerSends {
  constructor(
    private readonly o: RoomWriterOptions,
    private readonly s: RoomSession,
  ) {}

  /**
   * The in-flight events of a crashed run: found in the room's tail, or left to be resent. The
   * tail is read back only to the last send confirmed before them (room-tail.ts).
   */
  async reconcile(roomKey: RoomKey): Promise<void> {
    const pending = await this.o.state.pendingFor(roomKey);
    if (pending.length === 0) return;
    const anchor = await this.o.state.anchorBeforePending(roomKey);
    const wanted = new Set(pending.map((row) => `${row.event_key}#${row.part}`));
    const tail = await searchTail(this.o.client, this.s.roomId, wanted, anchor);
    for (const row of pending) {
      const eventId = tail.found.get(`${row.event_key}#${row.part}`);
      if (eventId !== undefined) {
        await this.o.state.markSent(row.event_key, row.part, eventId);
        this.s.result.reconciled += 1;
      }
    }
    this.o.logger.info(
      {
        room: roomKey,
        pending: pending.length,
        reconciled: this.s.result.reconciled,
        pages: tail.pages,
        stop: tail.stop,
      },
      'reconciled',
    );
  }

  /** Records that a part of an event is not sent, and why (counted unless it is a pin). */
  async skip(event: TimelineEvent, part: number, note: string): Promise<void> {
    const { skipped } = this.s.result;
    if (note !== PINNED_AT_END) skipped[note] = (skipped[note] ?? 0) + 1;
    await this.markSkipped(event.key, part, event.order, note);
  }

  async markSkipped(key: string, part: number, orderKey: string, note: string): Promise<void> {
    await this.o.state.markSkipped({
      event_key: key,
      part,
      room_key: this.s.room.record.key,
      order_key: orderKey,
      txn_id: txnIdFor(this.o.appserviceId, key, part),
      note,
    });
  }

  /**
   * Sends one ledger-tracked Matrix event unless the ledger says it is already there.
   * Returns its event ID.
   */
  async tracked(
    key: string,
    part: number,
    orderKey: string,
    sender: string,
    ts: number,
    byPart: LedgerByPart | undefined,
    send: (txnId: string) => Promise<EventId>,
  ): Promise<string> {
    const row =
      byPart?.get(`${key}#${part}`) ??
      (await this.o.state.ledgerFor([key])).find((r) => r.part === part);
    if (row?.status === 'sent' && row.event_id !== null) {
      this.s.result.alreadySent += 1;
      return row.event_id;
    }
    const txnId = row?.txn_id ?? txnIdFor(this.o.appserviceId, key, part);
    if (row === undefined) {
      await this.o.state.markPending({
        event_key: key,
        part,
        room_key: this.s.room.record.key,
        order_key: orderKey,
        txn_id: txnId,
        sender,
        ts,
      });
    }
    const eventId = await this.sendChecked(key, part, () => send(txnId));
    await this.o.state.markSent(key, part, eventId);
    this.s.lastEventId = eventId;
    this.s.result.sent += 1;
    this.o.onSent?.(this.s.room.record.key);
    if (this.s.result.sent % 50 === 0) await this.o.onHeartbeat?.();
    return eventId;
  }

  /** One send, resent only after checking it did not land. */
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

  /**
   * The event ID of a provenance key in the room's tail, if it is there: read back to the send
   * confirmed before this one (this run's last, or the ledger's).
   */
  private async findInTail(key: string, part: number): Promise<string | undefined> {
    const anchor =
      this.s.lastEventId ?? (await this.o.state.anchorBeforePending(this.s.room.record.key));
    const wanted = `${key}#${part}`;
    const tail = await searchTail(this.o.client, this.s.roomId, new Set([wanted]), anchor);
    return tail.found.get(wanted);
  }
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** A failure after which the request may or may not have been applied. */
function isAmbiguousFailure(e: unknown): boolean {
  if (e instanceof MatrixNetworkError) return true;
  return e instanceof MatrixHttpError && e.status >= 500;
}
