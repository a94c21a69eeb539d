/**
 * 0009: `room_claims`, what each ingest said about a room's name, kind and members, and how new
 * its source was (`as_of_ms`: the latest event the ingest read, else that source's latest
 * stored event). The room's row takes them from its newest claim (src/store/room-claims.ts);
 * `rooms.decided_*` records which claim that was (the provenance `ferry plan` shows).
 *
 * Existing rooms get one claim each, from their row as it stands, dated by their source's
 * latest stored event.
 */
import type { Knex } from 'knex';

export const name = '0009_room_claims';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table room_claims (
      room_key text not null,
      source_key text not null references sources(key),
      as_of_ms bigint not null,
      run_id bigint not null,
      name text,
      kind text not null,
      members jsonb not null,
      primary key (room_key, source_key, as_of_ms)
    )`);
  await knex.raw(`alter table rooms add column decided_source text`);
  await knex.raw(`alter table rooms add column decided_run bigint`);
  await knex.raw(`alter table rooms add column decided_as_of_ms bigint`);
  await knex.raw(`
    update rooms set decided_source = source_key, decided_run = last_changed_run,
      decided_as_of_ms = 0`);
  // One pass over the events (no index on their source).
  await knex.raw(`
    update rooms r set decided_as_of_ms = l.latest
    from (select source_key, max(ts) as latest from events group by source_key) l
    where l.source_key = r.source_key`);
  await knex.raw(`
    insert into room_claims (room_key, source_key, as_of_ms, run_id, name, kind, members)
    select key, source_key, decided_as_of_ms, decided_run, name, kind, members from rooms`);
}
