/**
 * 0001: the intermediate store. One statement per call (knex-pglite sends raw SQL as a prepared
 * statement, which cannot hold several commands).
 *
 * Keys are the model's branded keys (src/model/ids.ts). `order_key` uses the C collation so
 * that `ORDER BY` is bytewise, matching `compareOrderKeys`.
 */
import type { Knex } from 'knex';

export const name = '0001_initial';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table sources (
      key text primary key,
      kind text not null,
      name text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`);
  await knex.raw(`
    create table ingest_runs (
      id bigserial primary key,
      source_key text,
      input text not null,
      started_at timestamptz not null default now(),
      finished_at timestamptz,
      status text not null check (status in ('running', 'done', 'failed')),
      summary jsonb
    )`);
  await knex.raw(`
    create table users (
      key text primary key,
      source_key text not null references sources(key),
      native_id text not null,
      display_name text not null,
      handle text,
      real_name text,
      email text,
      avatar_url text,
      is_bot boolean not null,
      is_deleted boolean not null,
      is_placeholder boolean not null,
      is_admin boolean not null,
      first_run bigint not null,
      last_changed_run bigint not null
    )`);
  await knex.raw(`
    create table rooms (
      key text primary key,
      source_key text not null references sources(key),
      native_id text not null,
      kind text not null check (kind in ('space', 'channel', 'private', 'dm', 'group_dm')),
      name text,
      topic text,
      purpose text,
      created_at_ms bigint,
      creator text,
      is_archived boolean not null,
      is_general boolean not null,
      members jsonb not null,
      parent text,
      first_run bigint not null,
      last_changed_run bigint not null
    )`);
  await knex.raw(`
    create table media (
      key text primary key,
      source_key text not null references sources(key),
      native_id text not null,
      availability text not null,
      name text,
      title text,
      mimetype text,
      size bigint,
      local_path text,
      remote_url text,
      width integer,
      height integer,
      mode text,
      first_run bigint not null,
      last_changed_run bigint not null
    )`);
  await knex.raw(`
    create table events (
      key text primary key,
      room_key text not null,
      order_key text collate "C" not null,
      ts bigint not null,
      sender text not null,
      kind text not null,
      source_key text not null,
      native_id text not null,
      thread_root text,
      payload jsonb not null,
      first_run bigint not null,
      last_changed_run bigint not null
    )`);
  await knex.raw(`create unique index events_room_order on events (room_key, order_key)`);
  await knex.raw(
    `create index events_thread_root on events (thread_root) where thread_root is not null`,
  );
  await knex.raw(`create index events_first_run on events (first_run)`);
}
