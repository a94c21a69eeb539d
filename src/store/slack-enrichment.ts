/**
 * Writes what the Slack API told us into the store, and reads custom emoji back for push.
 *
 * Contract:
 * - `fillUserContacts`: one statement (so one transaction) over the users of one Slack source,
 *   matched by native ID (`U…`). It only FILLS: `email` and `real_name` are set where the store
 *   has null; a value the store already has (from the export or an earlier run) is never
 *   replaced or erased, so identity mappings that used an export email stay stable. Returns the
 *   number of rows changed. `first_run`/`last_changed_run` are left alone (they name ingest
 *   runs).
 * - `storeCustomEmoji`: upserts every name in one transaction; names Slack no longer lists
 *   are kept (old reactions may still use them).
 * - `loadCustomEmoji`: name → image URL / standard alias for one source, for push.
 */
import type { Knex } from 'knex';
import type { SlackCustomEmoji, SlackUserContact } from '../model/slack-enrichment.js';

export async function fillUserContacts(
  db: Knex | Knex.Transaction,
  sourceKey: string,
  contacts: ReadonlyMap<string, SlackUserContact>,
): Promise<number> {
  if (contacts.size === 0) return 0;
  const ids: string[] = [];
  const emails: (string | null)[] = [];
  const names: (string | null)[] = [];
  for (const [id, c] of contacts) {
    ids.push(id);
    emails.push(c.email ?? null);
    names.push(c.realName ?? null);
  }
  const result = (await db.raw(
    `update users u set
       email = coalesce(u.email, v.email),
       real_name = coalesce(u.real_name, v.real_name)
     from unnest(?::text[], ?::text[], ?::text[]) as v(native_id, email, real_name)
     where u.source_key = ? and u.native_id = v.native_id
       and ((u.email is null and v.email is not null)
         or (u.real_name is null and v.real_name is not null))
     returning u.key`,
    [ids, emails, names, sourceKey] as unknown as Knex.RawBinding[],
  )) as { rows: { key: string }[] };
  return result.rows.length;
}

/** Non-bot users of the source that still have no email. */
export async function countUsersWithoutEmail(
  db: Knex | Knex.Transaction,
  sourceKey: string,
): Promise<number> {
  const row = (await db('users')
    .where({ source_key: sourceKey, is_bot: false })
    .whereNull('email')
    .count({ n: '*' })
    .first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

export async function storeCustomEmoji(
  db: Knex,
  sourceKey: string,
  emoji: SlackCustomEmoji,
): Promise<void> {
  const rows = [
    ...[...emoji.images].map(([name, url]) => ({
      source_key: sourceKey,
      name,
      url,
      alias_of: null,
    })),
    ...[...emoji.standardAliases].map(([name, aliasOf]) => ({
      source_key: sourceKey,
      name,
      url: null,
      alias_of: aliasOf,
    })),
  ];
  if (rows.length === 0) return;
  await db.transaction(async (trx) => {
    for (let i = 0; i < rows.length; i += 1000) {
      await trx('slack_custom_emoji')
        .insert(rows.slice(i, i + 1000))
        .onConflict(['source_key', 'name'])
        .merge(['url', 'alias_of', 'updated_at']);
    }
  });
}

export interface StoredCustomEmoji {
  /** Custom name → image URL. */
  images: Map<string, string>;
  /** Custom name → standard shortcode. */
  standardAliases: Map<string, string>;
}

export async function loadCustomEmoji(
  db: Knex | Knex.Transaction,
  sourceKey: string,
): Promise<StoredCustomEmoji> {
  const rows = (await db('slack_custom_emoji')
    .where({ source_key: sourceKey })
    .orderBy('name')
    .select('name', 'url', 'alias_of')) as {
    name: string;
    url: string | null;
    alias_of: string | null;
  }[];
  const out: StoredCustomEmoji = { images: new Map(), standardAliases: new Map() };
  for (const r of rows) {
    if (r.url !== null) out.images.set(r.name, r.url);
    else if (r.alias_of !== null) out.standardAliases.set(r.name, r.alias_of);
  }
  return out;
}
