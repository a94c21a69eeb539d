/**
 * 0002: what the Matrix writer records. The ledger is the source of exactly-once delivery:
 * a row is written (pending) before each send and updated (sent, with the event ID) after it.
 * Synapse's own transaction cache is in memory, ignores the masqueraded user and forgets
 * within an hour, so it cannot be relied on across crashes.
 */
import type { Knex } from 'knex';

export const name = '0002_matrix_push';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table matrix_users (
      user_key text primary key,
      mxid text not null unique,
      profile_done boolean not null default false,
      updated_at timestamptz not null default now()
    )`);
  await knex.raw(`
    create table matrix_rooms (
      room_key text primary key,
      alias text not null unique,
      room_id text unique,
      status text not null default 'pending' check (status in ('pending', 'running', 'done', 'failed')),
      lease_owner text,
      lease_expires_at timestamptz,
      high_water text collate "C",
      sent_events bigint not null default 0,
      late_events bigint not null default 0,
      error text,
      finished_at timestamptz
    )`);
  await knex.raw(`
    create table matrix_ledger (
      event_key text not null,
      part integer not null,
      room_key text not null,
      order_key text collate "C" not null,
      txn_id text not null unique,
      status text not null check (status in ('pending', 'sent', 'skipped')),
      event_id text,
      sender text,
      ts bigint,
      note text,
      updated_at timestamptz not null default now(),
      primary key (event_key, part)
    )`);
  await knex.raw(`create index matrix_ledger_room on matrix_ledger (room_key, order_key)`);
  await knex.raw(
    `create index matrix_ledger_pending on matrix_ledger (room_key) where status = 'pending'`,
  );
  await knex.raw(`
    create table matrix_members (
      room_key text not null,
      user_key text not null,
      membership text not null,
      primary key (room_key, user_key)
    )`);
  await knex.raw(`
    create table matrix_media (
      media_key text primary key,
      status text not null check (status in ('uploaded', 'unavailable')),
      mxc text,
      reason text,
      updated_at timestamptz not null default now()
    )`);
}
