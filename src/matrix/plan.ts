/**
 * `ferry plan`: what a push would do, computed without writing anything — not to the homeserver
 * (only reads: aliases, email look-ups) and not to the store.
 */
import type { Knex } from 'knex';
import type { IdentityOrigin } from '../mapping/identity-rules.js';
import type { MatrixClient } from './client.js';
import type { PushCatalog } from './push-catalog.js';
import { measuredPushRate, pushEta, type PushEta } from './push-runs.js';

export interface PlannedUser {
  user: string;
  name: string;
  mxid: string;
  origin: IdentityOrigin;
  /** Ghosts ferry has not registered yet. */
  create: boolean;
}

export interface PlannedRoom {
  room: string;
  kind: string;
  name: string | null;
  /** Alias ferry creates, or the existing room it was mapped to. */
  target: string;
  action: 'create' | 'use_existing' | 'already_created' | 'found_by_alias';
  events_to_send: number;
  /**
   * Which ingest decided name, kind and members (the newest of those that read the room, see
   * store/room-claims.ts): its source, the input it read, its latest event, and how many sources
   * describe the room. Null for a room no ingest has decided (a store older than 0009).
   */
  decided_by: {
    source: string;
    input: string | null;
    run: number;
    latest_event: string;
    sources: number;
  } | null;
}

export interface PushPlan {
  users: {
    total: number;
    by_origin: Record<IdentityOrigin, number>;
    to_create: number;
    list: PlannedUser[];
  };
  rooms: { total: number; to_create: number; list: PlannedRoom[] };
  events: { to_send: number; already_sent: number };
  /** Store events to send at the rate of the latest finished pushes (push-runs.ts). */
  eta: PushEta;
}

export async function planPush(
  db: Knex,
  client: MatrixClient,
  catalog: PushCatalog,
): Promise<PushPlan> {
  const { users, byOrigin } = await planUsers(db, catalog);
  const rooms = await planRooms(db, client, catalog);
  const alreadySent = Number(
    (
      (await db('matrix_ledger').where({ status: 'sent' }).count({ n: '*' })) as {
        n: number | string;
      }[]
    )[0]?.n ?? 0,
  );
  const toSend = rooms.reduce((n, r) => n + r.events_to_send, 0);
  return {
    users: {
      total: users.length,
      by_origin: byOrigin,
      to_create: users.filter((u) => u.create).length,
      list: users,
    },
    rooms: {
      total: rooms.length,
      to_create: rooms.filter((r) => r.action === 'create').length,
      list: rooms,
    },
    events: { to_send: toSend, already_sent: alreadySent },
    eta: pushEta(toSend, await measuredPushRate(db)),
  };
}

/** Every user with its Matrix ID and origin; ghosts not yet provisioned are to create. */
async function planUsers(db: Knex, catalog: PushCatalog) {
  const doneRows = (await db('matrix_users').where({ profile_done: true }).select('user_key')) as {
    user_key: string;
  }[];
  const done = new Set(doneRows.map((r) => r.user_key));
  const users: PlannedUser[] = [];
  const byOrigin: Record<IdentityOrigin, number> = { ghost: 0, explicit: 0, email: 0, local: 0 };
  for (const u of catalog.users.values()) {
    byOrigin[u.origin] += 1;
    users.push({
      user: u.key,
      name: u.displayName,
      mxid: u.mxid,
      origin: u.origin,
      create: u.origin === 'ghost' && !done.has(u.key),
    });
  }
  users.sort((a, b) => (a.user < b.user ? -1 : 1));
  return { users, byOrigin };
}

/** Every room, what push would do about it (alias looked up), and its events not yet written. */
async function planRooms(
  db: Knex,
  client: MatrixClient,
  catalog: PushCatalog,
): Promise<PlannedRoom[]> {
  const createdRows = (await db('matrix_rooms')
    .whereNotNull('room_id')
    .select('room_key', 'room_id')) as { room_key: string; room_id: string }[];
  const created = new Map(createdRows.map((r) => [r.room_key, r.room_id]));
  const pendingRows = (await db.raw(
    `select e.room_key, count(*) as n from events e
      where not exists (select 1 from matrix_ledger l where l.event_key = e.key and l.part = 0)
      group by e.room_key`,
  )) as { rows: { room_key: string; n: number | string }[] };
  const pending = new Map(pendingRows.rows.map((r) => [r.room_key, Number(r.n)]));
  const decided = await roomDecisions(db);
  const rooms: PlannedRoom[] = [];
  for (const [key, room] of catalog.rooms) {
    let action: PlannedRoom['action'];
    if (created.has(key)) action = 'already_created';
    else if (room.target !== undefined) action = 'use_existing';
    else
      action = (await client.resolveAlias(room.alias)) === undefined ? 'create' : 'found_by_alias';
    rooms.push({
      room: key,
      kind: room.record.kind,
      name: room.record.name ?? null,
      target: room.target ?? room.alias,
      action,
      events_to_send: pending.get(key) ?? 0,
      decided_by: decided.get(key) ?? null,
    });
  }
  rooms.sort((a, b) => (a.room < b.room ? -1 : 1));
  return rooms;
}

/** Room key → the claim that decided it (rooms.decided_*), with its run's input. */
async function roomDecisions(db: Knex): Promise<Map<string, PlannedRoom['decided_by']>> {
  const rows = (await db.raw(
    `select r.key, r.decided_source, r.decided_run, r.decided_as_of_ms, i.input,
       (select count(distinct c.source_key) from room_claims c where c.room_key = r.key) as sources
     from rooms r left join ingest_runs i on i.id = r.decided_run
     where r.decided_source is not null`,
  )) as {
    rows: {
      key: string;
      decided_source: string;
      decided_run: number | string;
      decided_as_of_ms: number | string;
      input: string | null;
      sources: number | string;
    }[];
  };
  return new Map(
    rows.rows.map((r) => [
      r.key,
      {
        source: r.decided_source,
        input: r.input,
        run: Number(r.decided_run),
        latest_event: new Date(Number(r.decided_as_of_ms)).toISOString(),
        sources: Number(r.sources),
      },
    ]),
  );
}
