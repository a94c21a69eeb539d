/**
 * `ferry enrich slack [--emails] [--emoji]`: fill in, from the Slack Web API, what a Slack
 * export leaves out. Neither flag means both.
 *
 * Contract:
 * - The token is read from `$<tokenEnv>` (default `SLACK_TOKEN`), never from a flag value.
 * - `auth.test` runs first: a bad token fails before anything is written, with
 *   `config_invalid` "Slack rejected the token (invalid_auth)".
 * - Which stored source is enriched: `source` when given (a source key `slack:T…` or the bare
 *   workspace ID); else the only Slack source in the store; else the one whose workspace ID is
 *   the token's team or enterprise ID. No match → `config_invalid` listing the candidates.
 * - emails: `users.list` → emails/real names filled into users of that source that have none
 *   (one statement; existing values are never replaced or erased).
 * - emoji: `emoji.list` → `slack_custom_emoji` rows for that source. On Enterprise Grid the
 *   call names a workspace (`team_id`, see `emojiTeam`).
 * - The report has stable keys; sections that were not asked for are `null`.
 */
import { FerryError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import {
  countUsersWithoutEmail,
  fillUserContacts,
  storeCustomEmoji,
} from '../../store/slack-enrichment.js';
import {
  DEFAULT_TOKEN_ENV,
  emojiTeam,
  SlackEnricher,
  slackTokenFromEnv,
  type SlackEnricherOptions,
  type SlackTokenIdentity,
} from '../../sources/slack/enrichment/slack-enricher.js';
import type { Store } from '../../store/store.js';

export interface EnrichSlackOptions {
  /** Fetch emails (and missing real names). Neither `emails` nor `emoji` → both. */
  emails?: boolean;
  /** Fetch custom emoji. */
  emoji?: boolean;
  /** Environment variable holding the token (default `SLACK_TOKEN`). */
  tokenEnv?: string;
  /** Source key (`slack:T…`) or workspace ID to enrich. */
  source?: string;
  logger?: Logger;
  /** Test seams. */
  env?: NodeJS.ProcessEnv;
  slackApiUrl?: string;
  retryConfig?: SlackEnricherOptions['retryConfig'];
  pageSize?: number;
}

export interface EnrichSlackReport {
  source: string;
  team_id: string;
  emails: {
    users_listed: number;
    users_updated: number;
    users_without_email: number;
    /** Workspaces whose users were listed: 1, or every workspace of an org-wide Grid token. */
    workspaces: number;
  } | null;
  emoji: { emoji: number; aliases_to_standard: number; broken_aliases: number } | null;
}

export async function runEnrichSlack(
  store: Store,
  options: EnrichSlackOptions = {},
): Promise<EnrichSlackReport> {
  const logger = options.logger ?? silentLogger;
  const both = options.emails !== true && options.emoji !== true;
  const token = slackTokenFromEnv(options.tokenEnv ?? DEFAULT_TOKEN_ENV, options.env);
  const enricher = new SlackEnricher({
    token,
    slackApiUrl: options.slackApiUrl,
    logger,
    retryConfig: options.retryConfig,
    pageSize: options.pageSize,
  });
  const who = await enricher.identity();
  const source = await chooseSource(store, options.source, who);
  logger.info({ source, team: who.teamId }, 'enriching slack source');

  const report: EnrichSlackReport = { source, team_id: who.teamId, emails: null, emoji: null };
  // An org-wide Grid token names a workspace of the org in each call.
  const workspaces = who.orgInstall ? await approvedWorkspaces(enricher, who) : undefined;
  if (both || options.emails === true) {
    const contacts = await enricher.fetchEmails(workspaces);
    const { updated, without } = await store.knex.transaction(async (trx) => ({
      updated: await fillUserContacts(trx, source, contacts),
      without: await countUsersWithoutEmail(trx, source),
    }));
    report.emails = {
      users_listed: contacts.size,
      users_updated: updated,
      users_without_email: without,
      workspaces: workspaces?.length ?? 1,
    };
  }
  if (both || options.emoji === true) {
    const team = emojiTeam(who, source.slice('slack:'.length), workspaces);
    const emoji = await enricher.fetchCustomEmoji(team);
    await storeCustomEmoji(store.knex, source, emoji);
    report.emoji = {
      emoji: emoji.images.size,
      aliases_to_standard: emoji.standardAliases.size,
      broken_aliases: emoji.broken.length,
    };
  }
  return report;
}

async function approvedWorkspaces(
  enricher: SlackEnricher,
  who: SlackTokenIdentity,
): Promise<string[]> {
  const workspaces = await enricher.workspaces();
  if (workspaces.length === 0) {
    throw new FerryError(
      'config_invalid',
      `the Slack token is an org-wide install of ${who.teamId} but no workspace has approved the app (auth.teams.list is empty)`,
    );
  }
  return workspaces;
}

async function chooseSource(
  store: Store,
  wanted: string | undefined,
  who: SlackTokenIdentity,
): Promise<string> {
  const keys = (
    (await store.knex('sources').where({ kind: 'slack' }).orderBy('key').select('key')) as {
      key: string;
    }[]
  ).map((r) => r.key);
  const listed = keys.length === 0 ? 'none' : keys.join(', ');
  if (wanted !== undefined) {
    const key = wanted.startsWith('slack:') ? wanted : `slack:${wanted}`;
    if (keys.includes(key)) return key;
    throw new FerryError(
      'config_invalid',
      `no Slack source ${key} in the store (Slack sources: ${listed})`,
    );
  }
  if (keys.length === 1 && keys[0] !== undefined) return keys[0];
  const byTeam = [who.teamId, who.enterpriseId]
    .filter((id): id is string => id !== undefined && id !== '')
    .map((id) => `slack:${id}`)
    .find((k) => keys.includes(k));
  if (byTeam !== undefined) return byTeam;
  throw new FerryError(
    'config_invalid',
    keys.length === 0
      ? 'the store holds no Slack export: run `ferry ingest slack` first'
      : `cannot tell which Slack source the token's workspace ${who.teamId} is: pass --source (Slack sources: ${listed})`,
  );
}

/** Text form of the report (the `--json` form is the report itself). */
export function renderEnrichSlackReport(r: EnrichSlackReport): string {
  const lines = [`Enriched ${r.source} from Slack workspace ${r.team_id}`];
  if (r.emails !== null)
    lines.push(
      `  users   ${r.emails.users_updated} updated of ${r.emails.users_listed} listed` +
        (r.emails.workspaces > 1 ? ` in ${r.emails.workspaces} workspaces` : '') +
        `; ${r.emails.users_without_email} still without email`,
    );
  if (r.emoji !== null)
    lines.push(
      `  emoji   ${r.emoji.emoji} custom, ${r.emoji.aliases_to_standard} aliases of standard emoji, ${r.emoji.broken_aliases} broken aliases`,
    );
  return lines.join('\n');
}
