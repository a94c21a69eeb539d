/**
 * Which ingest decides a room's name, kind and members when several describe the same room
 * (two exports of a workspace, an Element room merged with a Slack channel, …): the newest
 * source, not whichever ingest ran last.
 *
 * Contract:
 * - Every ingest records one claim per room it read: the room's name, kind and members as that
 *   source saw them, dated `as_of_ms` (the latest event the ingest read; a run that read no
 *   event is dated by its source's latest stored event). Claims are keyed by room, source and
 *   date: re-reading an export replaces its claim; an older claim of the same source is dropped
 *   (it can never win against the newer one).
 * - The room's row takes kind and members from its newest claim (ties: the later run), and its
 *   name from the newest claim that has one; a claim without members (a source that does not
 *   list them) does not empty a list another claim has. `rooms.decided_source`,
 *   `decided_run` and `decided_as_of_ms` name the deciding claim.
 * - `upsertRooms` leaves these three columns of an existing row alone; `decideRooms` runs in
 *   the ingest's last transaction and returns how many rooms it changed that the upsert had not
 *   already counted as updated.
 */
import type { Knex } from 'knex';
import type { RoomRecord } from '../model/index.js';

export async function decideRooms(
  db: Knex.Transaction,
  runId: number,
  rooms: readonly RoomRecord[],
  runLatestTs: number | undefined,
): Promise<number> {
  if (rooms.length === 0) return 0;
  const asOf = runLatestTs ?? (await latestStoredEvent(db, rooms));
  await db.raw(
    `insert into room_claims (room_key, source_key, as_of_ms, run_id, name, kind, members)
     select k, s, ?::bigint, ?::bigint, n, kd, m::jsonb
       from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) as t(k, s, n, kd, m)
     on conflict (room_key, source_key, as_of_ms) do update set run_id = excluded.run_id,
       name = excluded.name, kind = excluded.kind, members = excluded.members`,
    [
      asOf,
      runId,
      rooms.map((r) => r.key),
      rooms.map((r) => r.source),
      rooms.map((r) => r.name ?? null),
      rooms.map((r) => r.kind),
      rooms.map((r) => JSON.stringify(r.members)),
    ] as unknown as Knex.RawBinding[],
  );
  const keys = rooms.map((r) => r.key);
  await db.raw(
    `delete from room_claims c where c.room_key = any(?::text[]) and exists (
       select 1 from room_claims d where d.room_key = c.room_key
         and d.source_key = c.source_key and d.as_of_ms > c.as_of_ms)`,
    [keys],
  );
  return applyNewestClaims(db, runId, keys);
}

/** The deciding claims of `keys` written into their rows; returns newly changed rows. */
async function applyNewestClaims(db: Knex.Transaction, runId: number, keys: string[]) {
  const result = (await db.raw(
    `with mine as (
       select * from room_claims where room_key = any(?::text[])
     ), newest as (
       select distinct on (room_key) room_key, source_key, run_id, as_of_ms, kind
         from mine order by room_key, as_of_ms desc, run_id desc
     ), named as (
       select distinct on (room_key) room_key, name from mine where name is not null
         order by room_key, as_of_ms desc, run_id desc
     ), listed as (
       select distinct on (room_key) room_key, members from mine where members <> '[]'::jsonb
         order by room_key, as_of_ms desc, run_id desc
     ), decided as (
       select n.*, coalesce(nm.name, o.name) as name,
         coalesce(l.members, '[]'::jsonb) as members,
         (o.name is distinct from coalesce(nm.name, o.name) or o.kind is distinct from n.kind
           or o.members is distinct from coalesce(l.members, '[]'::jsonb)) as changed
       from newest n join rooms o on o.key = n.room_key
         left join named nm using (room_key) left join listed l using (room_key)
     )
     update rooms r set name = d.name, kind = d.kind, members = d.members,
       decided_source = d.source_key, decided_run = d.run_id, decided_as_of_ms = d.as_of_ms,
       last_changed_run = case when d.changed then ?::bigint else o.last_changed_run end
     from decided d, rooms o
     where r.key = d.room_key and o.key = d.room_key
       and (d.changed or r.decided_source is distinct from d.source_key
         or r.decided_run is distinct from d.run_id
         or r.decided_as_of_ms is distinct from d.as_of_ms)
     returning d.changed and o.last_changed_run <> ?::bigint and o.first_run <> ?::bigint
       as newly_changed`,
    [keys, runId, runId, runId],
  )) as { rows: { newly_changed: boolean }[] };
  return result.rows.filter((r) => r.newly_changed).length;
}

async function latestStoredEvent(db: Knex.Transaction, rooms: readonly RoomRecord[]) {
  const sources = [...new Set(rooms.map((r) => r.source))];
  const row = (await db('events').whereIn('source_key', sources).max('ts as ts').first()) as
    { ts: number | string | null } | undefined;
  return row?.ts === null || row?.ts === undefined ? 0 : Number(row.ts);
}
