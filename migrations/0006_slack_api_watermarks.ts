/**
 * 0006: `slack_api_watermarks`, how far `ferry ingest slack-api` has read each conversation
 * (src/model/watermark.ts). Written in the transaction that commits the messages it covers.
 * `complete_ts`: every message up to it was read by a finished pass; `pass_*`: a pass that a
 * crash interrupted (messages in (pass_low_ts, pass_top_ts] stored, down to pass_floor_ts to go).
 */
import type { Knex } from 'knex';

export const name = '0006_slack_api_watermarks';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table slack_api_watermarks (
      source_key text not null references sources(key),
      conversation_id text not null,
      complete_ts text,
      pass_top_ts text,
      pass_low_ts text,
      pass_floor_ts text,
      updated_at timestamptz not null default now(),
      primary key (source_key, conversation_id)
    )`);
}
