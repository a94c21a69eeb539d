/**
 * 0007: `matrix_room_watermarks`, how far `ferry ingest matrix` has read each room of a live
 * homeserver (src/model/watermark.ts, `MatrixRoomWatermark`). Written in the transaction that
 * commits the events it covers. Tokens are the homeserver's opaque pagination tokens:
 * `complete_token`: every event before it is stored (forward reads start there); `pass_*`: a
 * first, backwards pass that a crash interrupted (events from pass_low_token up to
 * pass_top_token stored, older ones still to read).
 */
import type { Knex } from 'knex';

export const name = '0007_matrix_room_watermarks';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table matrix_room_watermarks (
      source_key text not null references sources(key),
      room_id text not null,
      complete_token text,
      pass_top_token text,
      pass_low_token text,
      updated_at timestamptz not null default now(),
      primary key (source_key, room_id)
    )`);
}
