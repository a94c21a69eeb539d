/**
 * The writer's records in the store: ghost users, rooms with their leases, the per-event
 * ledger, memberships and uploaded media. Every function is one or two statements; the room
 * writer composes them.
 *
 * Leases make several `ferry push` processes share one PostgreSQL store safely: a room is
 * claimed with `FOR UPDATE SKIP LOCKED`, written by one process only, and released (or left
 * to expire when that process dies).
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { EventKey, RoomKey, SourceKind, UserKey } from '../model/index.js';

export type LedgerStatus = 'pending' | 'sent' | 'skipped';

export interface LedgerRow {
  event_key: string;
  part: number;
  room_key: string;
  order_key: string;
  txn_id: string;
  status: LedgerStatus;
  event_id: string | null;
  /** Matrix user the event was sent as. */
  sender: string | null;
  note: string | null;
}

export interface MatrixRoomRow {
  room_key: string;
  alias: string;
  room_id: string | null;
  status: 'pending' | 'running' | 'done' | 'failed';
  high_water: string | null;
  sent_events: number;
  late_events: number;
}

/** Deterministic, globally unique transaction ID of one part of one model event. */
export function txnIdFor(appserviceId: string, eventKey: string, part: number): string {
  return createHash('sha256')
    .update(`${appserviceId}\u0000${eventKey}\u0000${part}`)
    .digest('base64url')
    .slice(0, 32);
}

export class PushState {
  constructor(private readonly db: Knex) {}

  // ---- users ----

  /**
   * Users never provisioned, or whose profile is unfinished; with `avatars` (downloads allowed)
   * also those with a source avatar that no push could upload yet.
   */
  async ghostsToProvision(avatars = false): Promise<{ key: UserKey; mxid: string | null }[]> {
    return (await this.db('users as u')
      .leftJoin('matrix_users as m', 'm.user_key', 'u.key')
      .where((q) => {
        void q.whereNull('m.user_key').orWhere('m.profile_done', false);
        if (avatars) {
          void q.orWhere((a) => {
            void a.where('m.avatar_done', false).whereNotNull('u.avatar_url');
          });
        }
      })
      .select('u.key as key', 'm.mxid as mxid')
      .orderBy('u.key')) as { key: UserKey; mxid: string | null }[];
  }

  /** `avatarDone`: the avatar was set, tried, or is not needed (no source avatar). */
  async recordGhost(
    user: UserKey,
    mxid: string,
    profileDone: boolean,
    avatarDone: boolean,
  ): Promise<void> {
    const row = { mxid, profile_done: profileDone, avatar_done: avatarDone };
    await this.db('matrix_users')
      .insert({ user_key: user, ...row })
      .onConflict('user_key')
      .merge({ ...row, updated_at: this.db.fn.now() });
  }

  // ---- rooms and leases ----

  /** Adds a row for every stored room that has none yet. */
  async registerRooms(
    aliasOf: (roomKey: string, nativeId: string, sourceKind: SourceKind) => string,
  ): Promise<void> {
    const missing = (await this.db('rooms as r')
      .join('sources as s', 's.key', 'r.source_key')
      .leftJoin('matrix_rooms as m', 'm.room_key', 'r.key')
      .whereNull('m.room_key')
      .select('r.key', 'r.native_id', 's.kind')) as {
      key: string;
      native_id: string;
      kind: SourceKind;
    }[];
    for (let i = 0; i < missing.length; i += 500) {
      await this.db('matrix_rooms')
        .insert(
          missing
            .slice(i, i + 500)
            .map((r) => ({ room_key: r.key, alias: aliasOf(r.key, r.native_id, r.kind) })),
        )
        // Two workers may register the same rooms at once: any conflict (key or alias) is done.
        .onConflict()
        .ignore();
    }
    // A room with new events since it was finished must be written again.
    await this.db.raw(
      `update matrix_rooms m set status = 'pending'
       where m.status = 'done' and exists (
         select 1 from events e where e.room_key = m.room_key
         and not exists (select 1 from matrix_ledger l where l.event_key = e.key and l.part = 0))`,
    );
  }

  /** Events with no ledger row yet (never sent nor skipped), in `only` rooms if given. */
  async unwrittenEvents(only?: readonly string[]): Promise<number> {
    const q = this.db('events as e')
      .whereNotExists((w) => {
        void w
          .select(this.db.raw('1'))
          .from('matrix_ledger as l')
          .whereRaw('l.event_key = e.key')
          .andWhere('l.part', 0);
      })
      .count({ n: '*' });
    if (only !== undefined) void q.whereIn('e.room_key', only);
    const [row] = (await q) as { n: number | string }[];
    return Number(row?.n ?? 0);
  }

  async room(roomKey: RoomKey): Promise<MatrixRoomRow | undefined> {
    return (await this.db('matrix_rooms').where({ room_key: roomKey }).first()) as
      MatrixRoomRow | undefined;
  }

  async setRoomId(roomKey: RoomKey, roomId: string): Promise<void> {
    await this.db('matrix_rooms').where({ room_key: roomKey }).update({ room_id: roomId });
  }

  /**
   * Claims one room that is pending (or whose lease expired) for `owner`. `kinds` restricts the
   * room kinds (spaces are written before the rooms they contain); `only` to given room keys.
   */
  async claimRoom(
    owner: string,
    leaseMs: number,
    kinds: readonly string[],
    only?: readonly string[],
  ): Promise<RoomKey | undefined> {
    return this.db.transaction(async (trx) => {
      const q = trx('matrix_rooms as m')
        .join('rooms as r', 'r.key', 'm.room_key')
        .whereIn('r.kind', kinds)
        .where((w) => {
          void w.where('m.status', 'pending').orWhere((x) => {
            void x.where('m.status', 'running').where('m.lease_expires_at', '<', trx.fn.now());
          });
        })
        .orderBy('m.room_key')
        .select('m.room_key')
        .limit(1)
        .forUpdate()
        .skipLocked();
      if (only !== undefined) void q.whereIn('m.room_key', only);
      const row = (await q.first()) as { room_key: RoomKey } | undefined;
      if (row === undefined) return undefined;
      await trx('matrix_rooms')
        .where({ room_key: row.room_key })
        .update({
          status: 'running',
          lease_owner: owner,
          lease_expires_at: trx.raw(`now() + (? || ' milliseconds')::interval`, [String(leaseMs)]),
          error: null,
          started_at: trx.fn.now(),
        });
      return row.room_key;
    });
  }

  async renewLease(roomKey: RoomKey, owner: string, leaseMs: number): Promise<void> {
    await this.db('matrix_rooms')
      .where({ room_key: roomKey, lease_owner: owner })
      .update({
        lease_expires_at: this.db.raw(`now() + (? || ' milliseconds')::interval`, [
          String(leaseMs),
        ]),
      });
  }

  async finishRoom(
    roomKey: RoomKey,
    owner: string,
    outcome: { status: 'done' | 'failed'; error?: string; lateEvents: number },
  ): Promise<void> {
    await this.db('matrix_rooms')
      .where({ room_key: roomKey, lease_owner: owner })
      .update({
        status: outcome.status,
        error: outcome.error ?? null,
        late_events: outcome.lateEvents,
        lease_owner: null,
        lease_expires_at: null,
        finished_at: this.db.fn.now(),
        // Wall time of this write, added to the room's total (`ferry report`'s slowest rooms).
        push_ms: this.db.raw(
          `push_ms + coalesce(greatest(0, round(extract(epoch from (now() - started_at)) * 1000)), 0)::bigint`,
        ),
      });
  }

  // ---- ledger ----

  async ledgerFor(eventKeys: readonly string[]): Promise<LedgerRow[]> {
    if (eventKeys.length === 0) return [];
    return (await this.db('matrix_ledger').whereIn('event_key', eventKeys)) as LedgerRow[];
  }

  /**
   * Where sent model events now are: part 0's event ID and the Matrix room ID of its room, for
   * the keys that have one (matrix.to links to migrated events are rewritten with these).
   */
  async sentWithRoom(
    eventKeys: readonly string[],
  ): Promise<{ event_key: string; event_id: string; room_id: string }[]> {
    if (eventKeys.length === 0) return [];
    return (await this.db('matrix_ledger as l')
      .join('matrix_rooms as m', 'm.room_key', 'l.room_key')
      .whereIn('l.event_key', eventKeys)
      .where({ 'l.part': 0, 'l.status': 'sent' })
      .whereNotNull('l.event_id')
      .whereNotNull('m.room_id')
      .select('l.event_key', 'l.event_id', 'm.room_id')) as {
      event_key: string;
      event_id: string;
      room_id: string;
    }[];
  }

  async pendingFor(roomKey: RoomKey): Promise<LedgerRow[]> {
    return (await this.db('matrix_ledger')
      .where({ room_key: roomKey, status: 'pending' })
      .orderBy('order_key')) as LedgerRow[];
  }

  /**
   * The event ID of the last send confirmed in a room before its earliest pending row was
   * written: where a look for the pending sends in the room's timeline can stop (room-tail.ts).
   * Undefined when the room has no pending row or nothing was confirmed before it.
   */
  async anchorBeforePending(roomKey: RoomKey): Promise<string | undefined> {
    const row = (await this.db('matrix_ledger')
      .where({ room_key: roomKey, status: 'sent' })
      .whereNotNull('event_id')
      .andWhere(
        'updated_at',
        '<=',
        this.db('matrix_ledger').where({ room_key: roomKey, status: 'pending' }).min('updated_at'),
      )
      .orderBy('updated_at', 'desc')
      .first('event_id')) as { event_id: string } | undefined;
    return row?.event_id;
  }

  async markPending(
    row: Omit<LedgerRow, 'status' | 'event_id' | 'note' | 'sender'> & {
      sender: string;
      ts: number;
    },
  ): Promise<void> {
    await this.db('matrix_ledger')
      .insert({ ...row, status: 'pending' })
      .onConflict(['event_key', 'part'])
      .ignore();
  }

  /**
   * Records a send and, in the same statement, moves the room's high-water mark (the latest
   * position it shows). End-of-room state (`~pins`, `~archive`) is not a timeline position.
   */
  async markSent(eventKey: string, part: number, eventId: string): Promise<void> {
    await this.db.raw(
      `with sent as (
         update matrix_ledger set status = 'sent', event_id = ?, updated_at = now()
         where event_key = ? and part = ?
         returning room_key, order_key
       )
       update matrix_rooms m
          set high_water = greatest(coalesce(m.high_water, ''), sent.order_key),
              sent_events = m.sent_events + 1
         from sent
        where m.room_key = sent.room_key and sent.order_key not like '~%'`,
      [eventId, eventKey, part],
    );
  }

  async markSkipped(row: {
    event_key: string;
    part: number;
    room_key: string;
    order_key: string;
    txn_id: string;
    note: string;
  }): Promise<void> {
    await this.db('matrix_ledger')
      .insert({ ...row, status: 'skipped' })
      .onConflict(['event_key', 'part'])
      .merge({ status: 'skipped', note: row.note, updated_at: this.db.fn.now() });
  }

  /** Matrix event ID of part 0 of a sent model event. */
  async eventIdOf(eventKey: EventKey): Promise<string | undefined> {
    const row = (await this.db('matrix_ledger')
      .where({ event_key: eventKey, part: 0, status: 'sent' })
      .first('event_id')) as { event_id: string } | undefined;
    return row?.event_id;
  }

  // ---- memberships ----

  async members(roomKey: RoomKey): Promise<Map<UserKey, string>> {
    const rows = (await this.db('matrix_members').where({ room_key: roomKey })) as {
      user_key: UserKey;
      membership: string;
    }[];
    return new Map(rows.map((r) => [r.user_key, r.membership]));
  }

  async setMembership(roomKey: RoomKey, user: UserKey, membership: string): Promise<void> {
    await this.db('matrix_members')
      .insert({ room_key: roomKey, user_key: user, membership })
      .onConflict(['room_key', 'user_key'])
      .merge({ membership });
  }

  // ---- media ----

  async mediaUpload(
    mediaKey: string,
  ): Promise<{ status: string; mxc: string | null; reason: string | null } | undefined> {
    return (await this.db('matrix_media').where({ media_key: mediaKey }).first()) as
      { status: string; mxc: string | null; reason: string | null } | undefined;
  }

  async recordMedia(
    mediaKey: string,
    result: { status: 'uploaded'; mxc: string } | { status: 'unavailable'; reason: string },
  ): Promise<void> {
    const row =
      result.status === 'uploaded'
        ? { mxc: result.mxc, reason: null }
        : { mxc: null, reason: result.reason };
    await this.db('matrix_media')
      .insert({ media_key: mediaKey, status: result.status, ...row })
      .onConflict('media_key')
      .merge({ status: result.status, ...row, updated_at: this.db.fn.now() });
  }
}
