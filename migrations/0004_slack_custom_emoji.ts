/**
 * 0004: `slack_custom_emoji`, filled by `ferry enrich slack --emoji` from Slack's `emoji.list`
 * (exports do not carry custom emoji images, source-formats.md §1.8).
 *
 * One row per custom emoji name of a Slack source (workspace). Exactly one of:
 * - `url`: the image URL (public, on emoji.slack-edge.com; aliases already resolved to the
 *   image of the emoji they name);
 * - `alias_of`: the standard (Unicode) emoji shortcode an alias names (`alias:thumbsup`).
 */
import type { Knex } from 'knex';

export const name = '0004_slack_custom_emoji';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table slack_custom_emoji (
      source_key text not null references sources(key),
      name text not null,
      url text,
      alias_of text,
      updated_at timestamptz not null default now(),
      primary key (source_key, name),
      check ((url is null) <> (alias_of is null))
    )`);
}
