/**
 * `ferry ingest slack-api`: read a live Slack workspace through the Web API into the store,
 * incrementally and resumably (src/sources/slack-api).
 *
 * Contract:
 * - The token comes from `$SLACK_TOKEN` only (never a flag); it is never logged or printed.
 *   Unset → `config_invalid`; Slack refusing it → `config_invalid` "Slack rejected the token
 *   (<code>)" (exit 2), before anything is written.
 * - Watermarks are read before the ingest and each one is written in the transaction that
 *   commits its messages (`onCheckpoint`), so a kill -9 at any point loses nothing and a
 *   rerun duplicates nothing.
 * - The run is recorded with input `slack-api:<api url>` (push never opens that as an export).
 * - Custom emoji (`emoji.list`) are stored as `ferry enrich slack --emoji` stores them.
 * - The report is the ingest summary plus `api` (slack-api-report.ts).
 */
import { FerryError } from '../../errors.js';
import { ingest, type IngestSummary } from '../../ingest/ingest.js';
import type { Logger } from '../../logger.js';
import { redactUrl } from '../../redact.js';
import { storeCustomEmoji } from '../../store/slack-enrichment.js';
import { resolveEmojiAliases } from '../../sources/slack/enrichment/slack-enricher.js';
import {
  SlackApiSource,
  type SlackApiReport,
  type SlackTier,
} from '../../sources/slack-api/index.js';
import { DEFAULT_SLACK_API_URL } from '../../sources/slack-api/slack-api-client.js';
import type { RetryOptions } from '@slack/web-api';
import {
  readSlackApiWatermarks,
  writeSlackApiWatermark,
} from '../../store/slack-api-watermarks.js';
import type { Store } from '../../store/store.js';
import { createProgress } from '../progress.js';

export const SLACK_API_INPUT_PREFIX = 'slack-api:';

export interface IngestSlackApiOptions {
  logger: Logger;
  apiUrl?: string;
  refetchDays?: number;
  workspaceName?: string;
  progress: boolean;
  /** Where the token is read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Test and benchmark seams. */
  tierLimits?: Partial<Record<SlackTier, number>>;
  retryConfig?: RetryOptions;
  /** A line for the user's terminal (the CLI writes it to stderr). */
  onNotice?: (message: string) => void;
}

export interface IngestSlackApiReport extends IngestSummary {
  api: SlackApiReport;
}

export async function runIngestSlackApi(
  store: Store,
  o: IngestSlackApiOptions,
): Promise<IngestSlackApiReport> {
  const token = (o.env ?? process.env).SLACK_TOKEN?.trim();
  if (token === undefined || token === '') {
    throw new FerryError(
      'config_invalid',
      'no Slack token: set $SLACK_TOKEN to a bot or user token (see README: ingest slack-api scopes)',
    );
  }
  const apiUrl = withSlash(o.apiUrl ?? DEFAULT_SLACK_API_URL);
  const source = new SlackApiSource({
    token,
    apiUrl,
    logger: o.logger,
    watermarks: await readSlackApiWatermarks(store.knex),
    refetchDays: o.refetchDays,
    workspaceName: o.workspaceName,
    tierLimits: o.tierLimits,
    retryConfig: o.retryConfig,
    onNotice: o.onNotice,
  });
  const progress = createProgress('slack-api', o.progress);
  let summary: IngestSummary;
  try {
    summary = await ingest(source.items(), store, {
      input: `${SLACK_API_INPUT_PREFIX}${redactUrl(apiUrl)}`,
      logger: o.logger,
      onProgress: (done, total, _unit, label) => progress.update(done, total, label),
      onCheckpoint: (trx, w) => {
        if (w.kind !== 'slack_conversation') throw new Error(`unexpected ${w.kind} checkpoint`);
        return writeSlackApiWatermark(trx, w);
      },
    });
  } finally {
    progress.stop();
  }
  if (source.emoji !== undefined && summary.source !== null) {
    await storeCustomEmoji(store.knex, summary.source.key, resolveEmojiAliases(source.emoji));
  }
  return { ...summary, api: source.report };
}

function withSlash(url: string): string {
  if (!/^https?:\/\//.test(url)) {
    throw new FerryError(
      'config_invalid',
      `--api-url must be an http(s) URL (got ${redactUrl(url)})`,
    );
  }
  return url.endsWith('/') ? url : `${url}/`;
}

/** Text lines added under the ingest summary. */
export function renderSlackApiReport(r: SlackApiReport): string {
  const unreadable = Object.entries(r.conversations.unreadable)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lines = [
    `Slack API: workspace ${r.team_name} (${r.team_id})`,
    `  conversations  ${r.conversations.read} read of ${r.conversations.listed} listed` +
      (unreadable === '' ? '' : `; not readable: ${unreadable}`),
    `  messages       ${r.messages} read (${r.threads} threads), ${r.files} files for push --download-media`,
    `  requests       ${Object.values(r.requests).reduce((a, b) => a + b, 0)} (${r.rate_limited} rate limited)`,
  ];
  if (r.missing_scopes.length > 0) lines.push(`  missing scopes ${r.missing_scopes.join(', ')}`);
  if (r.limited_app)
    lines.push(
      '  LIMITED APP    Slack limits this app to 1 request/min and 15 messages per page (non-Marketplace app)',
    );
  return lines.join('\n');
}
