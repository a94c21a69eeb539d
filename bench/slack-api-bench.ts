/**
 * `npm run bench:slack-api`: fetch rate of `ferry ingest slack-api` against the in-process fake
 * Slack Web API (test/support/fake-slack-api.ts), in messages/s, next to a baseline measured in
 * the same run on the same server: a bare `@slack/web-api` loop paging conversations.history
 * (limit 999, cursors) with the same per-method pacing, storing nothing.
 *
 * Two settings: Slack's documented tier limits (the real-world ceiling; ferry also makes the
 * calls a bare loop does not: users.list, conversations.list ×4 types, members, pins, emoji)
 * and unpaced (what the adapter, the mapping and the store cost per message).
 *
 * Options: --channels N (default 2), --messages N per channel (default 10000). Store: a fresh
 * embedded PGlite folder. Keep it short (the paced run takes about a minute).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WebClient } from '@slack/web-api';
import { runIngestSlackApi } from '../src/cli/commands/ingest-slack-api.js';
import { silentLogger } from '../src/logger.js';
import { MethodPacer, SLACK_TIER_LIMITS, type SlackTier } from '../src/sources/slack-api/pacer.js';
import { openStore } from '../src/store/store.js';
import { FakeSlackApi, type FakeSlackMessage } from '../test/support/fake-slack-api.js';

const { values } = parseArgs({
  options: {
    channels: { type: 'string', default: '2' },
    messages: { type: 'string', default: '10000' },
  },
});
const CHANNELS = Number(values.channels);
const MESSAGES = Number(values.messages);
const TOKEN = 'xoxb-bench-token';
const UNPACED: Record<SlackTier, number> = { 1: 1e9, 2: 1e9, 3: 1e9, 4: 1e9 };

function workspace() {
  const users = ['U01ALICE', 'U01BOB', 'U01ZOE'].map((id) => ({
    id,
    name: id.toLowerCase(),
    team_id: 'T01BENCH',
  }));
  const conversations = Array.from({ length: CHANNELS }, (_, c) => ({
    type: 'public_channel' as const,
    info: { id: `C0BENCH${c}`, name: `bench-${c}`, created: 1_700_000_000, is_archived: false },
    members: users.map((u) => u.id),
  }));
  const messages: Record<string, FakeSlackMessage[]> = {};
  for (const { info } of conversations) {
    messages[info.id] = Array.from({ length: MESSAGES }, (_, i) => ({
      type: 'message',
      user: users[i % users.length]?.id ?? 'U01ALICE',
      text: `message ${i} with *some* _mrkdwn_ and a <https://example.org|link>`,
      ts: `${1_700_000_000 + i}.${String(i % 1_000_000).padStart(6, '0')}`,
    }));
  }
  return { users, conversations, messages };
}

async function baseline(apiUrl: string, limits: Record<SlackTier, number>): Promise<number> {
  const client = new WebClient(TOKEN, { slackApiUrl: apiUrl });
  const pacer = new MethodPacer(limits);
  let count = 0;
  for (let c = 0; c < CHANNELS; c++) {
    let cursor: string | undefined;
    do {
      await pacer.wait('conversations.history');
      const page = await client.conversations.history({
        channel: `C0BENCH${c}`,
        limit: 999,
        cursor,
      });
      count += page.messages?.length ?? 0;
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor !== undefined);
  }
  return count;
}

async function ferry(apiUrl: string, limits: Record<SlackTier, number>): Promise<number> {
  const dir = await mkdtemp(join(os.tmpdir(), 'ferry-slack-api-bench-'));
  const store = await openStore({ dataDir: dir });
  try {
    const r = await runIngestSlackApi(store, {
      logger: silentLogger,
      apiUrl,
      env: { SLACK_TOKEN: TOKEN },
      tierLimits: limits,
      progress: false,
    });
    return r.api.messages;
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function timed(
  fn: () => Promise<number>,
): Promise<{ messages: number; seconds: number; rate: number }> {
  const start = performance.now();
  const messages = await fn();
  const seconds = (performance.now() - start) / 1000;
  return { messages, seconds, rate: messages / seconds };
}

const fake = await new FakeSlackApi({
  token: TOKEN,
  teamId: 'T01BENCH',
  teamName: 'Bench',
  ...workspace(),
}).start();
try {
  console.log(
    `bench:slack-api  ${CHANNELS} channels × ${MESSAGES} messages, node ${process.version}, ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const [name, limits] of [
    ['unpaced', UNPACED],
    ['documented tier limits', { ...SLACK_TIER_LIMITS }],
  ] as const) {
    const base = await timed(() => baseline(fake.apiUrl, limits));
    const run = await timed(() => ferry(fake.apiUrl, limits));
    console.log(
      `${name.padEnd(24)} baseline ${base.rate.toFixed(0)} msg/s (${base.seconds.toFixed(1)} s)  ferry ${run.rate.toFixed(0)} msg/s (${run.seconds.toFixed(1)} s, ${run.messages} messages)  ratio ${(run.rate / base.rate).toFixed(2)}`,
    );
  }
} finally {
  await fake.stop();
}
