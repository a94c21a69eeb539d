/**
 * 0008: what `ferry report` needs that nothing recorded yet.
 *
 * - `matrix_verify_rooms`: the per-room result of the last `ferry verify` of each room (verify
 *   itself stays read-only on both sides; the command stores what it found). A room with no row
 *   was never verified. `verified_at` against `matrix_rooms.finished_at` tells a result that a
 *   later push made stale.
 * - `matrix_rooms.started_at` / `push_ms`: when the current (or last) write of the room began,
 *   and the wall time of every finished write of it added up (milliseconds), for "slowest rooms".
 */
import type { Knex } from 'knex';

export const name = '0008_report';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table matrix_verify_rooms (
      room_key text primary key,
      room_id text,
      verified_at timestamptz not null default now(),
      ok boolean not null,
      expected bigint not null,
      found bigint not null,
      missing bigint not null,
      duplicated bigint not null,
      out_of_order bigint not null,
      wrong_sender bigint not null,
      wrong_ts bigint not null,
      not_pushed bigint not null,
      late bigint not null,
      foreign_events bigint not null,
      examples jsonb not null
    )`);
  await knex.raw(
    'alter table matrix_rooms add column started_at timestamptz, add column push_ms bigint not null default 0',
  );
}
