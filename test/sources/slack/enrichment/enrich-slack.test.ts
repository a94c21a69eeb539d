import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  runEnrichSlack,
  type EnrichSlackOptions,
} from '../../../../src/cli/commands/enrich-slack.js';
import { FerryError } from '../../../../src/errors.js';
import { ingest } from '../../../../src/ingest/ingest.js';
import { loadCustomEmoji } from '../../../../src/store/slack-enrichment.js';
import { SlackEnricher } from '../../../../src/sources/slack/enrichment/slack-enricher.js';
import { slackExportItems } from '../../../../src/sources/slack/index.js';
import { createTestStore, type TestStore } from '../../../support/databases.js';
import { FakeSlackApi, type FakeSlackUser } from '../../../support/fake-slack-api.js';
import { recordingLogger, type LogEntry } from '../../../support/recording-logger.js';

const MODERN = 'test/fixtures/slack/modern';
const TOKEN = 'xoxb-1111-2222-SeCrEtToKeN';
const FAST_RETRY = { retries: 3, factor: 1, minTimeout: 1, maxTimeout: 5, randomize: false };

const API_USERS: FakeSlackUser[] = [
  // The export already has alice@example.org: never replaced.
  { id: 'U01ALICE', name: 'alice', profile: { email: 'alice@elsewhere.example' } },
  { id: 'U01BOB', name: 'bob', real_name: 'Bob Builder', profile: { email: 'bob@example.org' } },
  // No email from the API: nothing is erased or invented.
  { id: 'U01CAROL', name: 'carol', deleted: true, profile: { real_name: 'Carol Gone' } },
  { id: 'U01BOT1', name: 'deploybot', is_bot: true, profile: { real_name: 'Deploy Bot' } },
  { id: 'U01ZOE', name: 'zoe', profile: { email: 'zoe@example.org' } },
  // Only a placeholder in the export (referenced by history): gains a real name and email.
  {
    id: 'U01GHOST',
    name: 'ghost',
    profile: { email: 'ghost@example.org', real_name: 'Ghost Person' },
  },
  // Not in the export at all: ignored.
  { id: 'U09NEW', name: 'newbie', profile: { email: 'new@example.org' } },
];

let t: TestStore;
let fake: FakeSlackApi;
let logs: LogEntry[];

beforeAll(async () => {
  t = await createTestStore('postgres');
  await ingest(slackExportItems(MODERN), t.store, { input: MODERN });
});
afterAll(async () => {
  await t.dispose();
});

beforeEach(async () => {
  logs = [];
  fake = await new FakeSlackApi({
    token: TOKEN,
    teamId: 'T01TEAM',
    users: API_USERS,
    emoji: {
      partyparrot: 'https://emoji.example/partyparrot.gif',
      parrot: 'alias:partyparrot',
      parrot2: 'alias:parrot',
      thumbsup_all: 'alias:thumbsup',
      loop_a: 'alias:loop_b',
      loop_b: 'alias:loop_a',
    },
  }).start();
});
afterEach(async () => {
  await fake.stop();
  await t.store.knex('users').update({ email: null }).whereNot({ native_id: 'U01ALICE' });
  await t.store.knex('slack_custom_emoji').delete();
});

const enrich = (o: EnrichSlackOptions = {}) =>
  runEnrichSlack(t.store, {
    env: { SLACK_TOKEN: TOKEN },
    slackApiUrl: fake.apiUrl,
    retryConfig: FAST_RETRY,
    logger: recordingLogger(logs),
    ...o,
  });

async function user(nativeId: string) {
  return (await t.store
    .knex('users')
    .where({ native_id: nativeId })
    .first('email', 'real_name', 'display_name')) as {
    email: string | null;
    real_name: string | null;
    display_name: string;
  };
}

describe('ferry enrich slack: emails', () => {
  it('fills users that had no email, never replaces or erases one, in pages of 2', async () => {
    const before = await user('U01GHOST');
    expect(before.email).toBeNull();

    const report = await enrich({ emails: true, pageSize: 2 });
    expect(report).toEqual({
      source: 'slack:T01TEAM',
      team_id: 'T01TEAM',
      emails: { users_listed: 7, users_updated: 3, users_without_email: 1, workspaces: 1 },
      emoji: null,
    });
    expect(Object.keys(report)).toEqual(['source', 'team_id', 'emails', 'emoji']);

    expect((await user('U01ALICE')).email).toBe('alice@example.org');
    expect((await user('U01BOB')).email).toBe('bob@example.org');
    expect((await user('U01ZOE')).email).toBe('zoe@example.org');
    expect((await user('U01CAROL')).email).toBeNull();
    const ghost = await user('U01GHOST');
    expect(ghost.email).toBe('ghost@example.org');
    expect(ghost.real_name).toBe(before.real_name ?? 'Ghost Person');

    // 7 users, limit 2 → 4 pages, each cursor from the previous page.
    const pages = fake.calls('users.list');
    expect(pages.map((p) => p.args.limit)).toEqual(['2', '2', '2', '2']);
    expect(pages[0]?.args.cursor).toBeUndefined();
    expect(new Set(pages.slice(1).map((p) => p.args.cursor)).size).toBe(3);
    expect(pages.every((p) => p.authorized)).toBe(true);
    expect(fake.calls('emoji.list')).toHaveLength(0);

    // Idempotent: a second run changes nothing.
    const again = await enrich({ emails: true });
    expect(again.emails?.users_updated).toBe(0);
  });

  it('waits out a 429 with Retry-After and retries', async () => {
    fake.rateLimitNext(2, 0);
    const report = await enrich({ emails: true });
    expect(report.emails?.users_updated).toBe(3);
    expect(fake.requests.filter((r) => r.status === 429)).toHaveLength(2);
  });

  it('rejects a bad token clearly, without the token, before writing anything', async () => {
    const wrong = 'xoxp-9999-WRONGTOKEN';
    const error = await enrich({ env: { SLACK_TOKEN: wrong } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).code).toBe('config_invalid');
    expect((error as FerryError).message).toBe('Slack rejected the token (invalid_auth)');
    expect(JSON.stringify(error)).not.toContain(wrong);
    expect((error as FerryError).cause).toBeUndefined();
    expect(fake.calls('users.list')).toHaveLength(0);
    expect((await user('U01BOB')).email).toBeNull();
    expect(JSON.stringify(logs)).not.toContain('WRONGTOKEN');
  });

  it('needs the token in the environment, under --token-env when renamed', async () => {
    await expect(enrich({ env: {} })).rejects.toThrow(/set \$SLACK_TOKEN/);
    const report = await enrich({ env: { MY_SLACK: TOKEN }, tokenEnv: 'MY_SLACK', emails: true });
    expect(report.emails?.users_updated).toBe(3);
  });

  it('names the method when the API cannot be reached', async () => {
    const enricher = new SlackEnricher({
      token: TOKEN,
      slackApiUrl: 'http://127.0.0.1:1/api/',
      retryConfig: { retries: 0 },
      logger: recordingLogger(logs),
    });
    const error = await enricher.fetchEmails().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).code).toBe('homeserver_error');
    expect((error as FerryError).message).toMatch(/users\.list/);
    expect((error as FerryError).message).not.toContain(TOKEN);
  });

  it('refuses an unknown --source and lists the Slack sources', async () => {
    await expect(enrich({ source: 'T99OTHER' })).rejects.toThrow(
      /no Slack source slack:T99OTHER.*slack:T01TEAM/,
    );
  });
});

describe('ferry enrich slack: custom emoji', () => {
  it('stores custom emoji with alias chains resolved', async () => {
    const report = await enrich({ emoji: true });
    expect(report.emoji).toEqual({ emoji: 3, aliases_to_standard: 1, broken_aliases: 2 });
    expect(report.emails).toBeNull();
    const stored = await loadCustomEmoji(t.store.knex, 'slack:T01TEAM');
    expect(Object.fromEntries(stored.images)).toEqual({
      parrot: 'https://emoji.example/partyparrot.gif',
      parrot2: 'https://emoji.example/partyparrot.gif',
      partyparrot: 'https://emoji.example/partyparrot.gif',
    });
    expect(Object.fromEntries(stored.standardAliases)).toEqual({ thumbsup_all: 'thumbsup' });
    // Re-running upserts the same rows.
    await enrich({ emoji: true });
    const rows = await t.store.knex('slack_custom_emoji').count({ n: '*' }).first();
    expect(Number(rows?.n)).toBe(4);
  });

  it('does both when neither flag is given', async () => {
    const report = await enrich();
    expect(report.emails).not.toBeNull();
    expect(report.emoji).not.toBeNull();
  });
});

describe('ferry enrich slack: an org-wide Enterprise Grid token', () => {
  const GRID = 'test/fixtures/slack/grid';
  let grid: TestStore;
  let org: FakeSlackApi;
  beforeAll(async () => {
    grid = await createTestStore('postgres');
    await ingest(slackExportItems(GRID), grid.store, { input: GRID });
  });
  afterAll(async () => {
    await grid.dispose();
  });
  beforeEach(async () => {
    org = await new FakeSlackApi({
      token: TOKEN,
      org: {
        enterpriseId: 'E01ORG',
        workspaces: [
          { id: 'T0ALPHA', name: 'alpha' },
          { id: 'T0BETA', name: 'beta' },
        ],
      },
      users: [
        { id: 'W01ANNA', team_id: 'T0ALPHA', profile: { email: 'anna@org.example' } },
        { id: 'W01BEN', team_id: 'T0BETA', profile: { email: 'ben@org.example' } },
        { id: 'W09OTHER', team_id: 'T0BETA', profile: { email: 'other@org.example' } },
      ],
    }).start();
  });
  afterEach(async () => {
    await org.stop();
  });

  it('lists the users of every workspace the app is approved for, naming each one', async () => {
    const report = await runEnrichSlack(grid.store, {
      env: { SLACK_TOKEN: TOKEN },
      slackApiUrl: org.apiUrl,
      retryConfig: FAST_RETRY,
      emails: true,
      pageSize: 1,
    });
    expect(report.source).toBe('slack:E01ORG');
    expect(report.emails).toEqual({
      users_listed: 3,
      users_updated: 2,
      users_without_email: 0,
      workspaces: 2,
    });
    const emails = (await grid.store
      .knex('users')
      .whereIn('native_id', ['W01ANNA', 'W01BEN'])
      .orderBy('native_id')
      .pluck('email')) as string[];
    expect(emails).toEqual(['anna@org.example', 'ben@org.example']);
    // Workspaces paged one at a time; every users.list names its workspace.
    expect(org.calls('auth.teams.list')).toHaveLength(2);
    const teams = org.calls('users.list').map((c) => c.args.team_id);
    expect(new Set(teams)).toEqual(new Set(['T0ALPHA', 'T0BETA']));
    expect(teams.every((id) => id !== undefined)).toBe(true);
  });

  it('lists the custom emoji of an approved workspace, naming it (team_id)', async () => {
    org.emoji = { orgparrot: 'https://emoji.example/orgparrot.gif' };
    const report = await runEnrichSlack(grid.store, {
      env: { SLACK_TOKEN: TOKEN },
      slackApiUrl: org.apiUrl,
      retryConfig: FAST_RETRY,
      emoji: true,
    });
    expect(report.emoji).toEqual({ emoji: 1, aliases_to_standard: 0, broken_aliases: 0 });
    const calls = org.calls('emoji.list');
    expect(calls).toHaveLength(1);
    expect(['T0ALPHA', 'T0BETA']).toContain(calls[0]?.args.team_id);
    const stored = await loadCustomEmoji(grid.store.knex, 'slack:E01ORG');
    expect([...stored.images.keys()]).toEqual(['orgparrot']);
  });

  it('says so when no workspace has approved the app, writing nothing', async () => {
    await org.stop();
    org = await new FakeSlackApi({
      token: TOKEN,
      org: { enterpriseId: 'E01ORG', workspaces: [] },
    }).start();
    const error = await runEnrichSlack(grid.store, {
      env: { SLACK_TOKEN: TOKEN },
      slackApiUrl: org.apiUrl,
      retryConfig: FAST_RETRY,
      emails: true,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).message).toMatch(/org-wide install of E01ORG.*auth\.teams\.list/);
    expect(org.calls('users.list')).toHaveLength(0);
  });
});

describe('ferry enrich slack: a workspace token of an Enterprise Grid org', () => {
  it('calls emoji.list with the team_id of the token’s workspace', async () => {
    const grid = await createTestStore('postgres');
    const api = await new FakeSlackApi({
      token: TOKEN,
      teamId: 'T0ALPHA',
      enterpriseId: 'E01ORG',
      emoji: { alphaparrot: 'https://emoji.example/alphaparrot.gif' },
    }).start();
    try {
      await ingest(slackExportItems('test/fixtures/slack/grid'), grid.store, { input: 'grid' });
      const report = await runEnrichSlack(grid.store, {
        env: { SLACK_TOKEN: TOKEN },
        slackApiUrl: api.apiUrl,
        retryConfig: FAST_RETRY,
        emoji: true,
      });
      expect(report.source).toBe('slack:E01ORG');
      expect(report.emoji?.emoji).toBe(1);
      expect(api.calls('emoji.list').map((c) => c.args.team_id)).toEqual(['T0ALPHA']);
    } finally {
      await api.stop();
      await grid.dispose();
    }
  });

  it('calls emoji.list without team_id outside Grid', async () => {
    await enrich({ emoji: true });
    expect(fake.calls('emoji.list').map((c) => c.args.team_id)).toEqual([undefined]);
  });
});

describe('token hygiene', () => {
  it('never logs the token, even at debug level with retries', async () => {
    fake.rateLimitNext(1, 0);
    await enrich({ pageSize: 2 });
    expect(logs.length).toBeGreaterThan(0);
    const text = JSON.stringify(logs);
    // The web-api's own lines arrive (redacted), response bodies (emails) do not.
    expect(text).toContain('http request headers');
    expect(text).not.toContain('bob@example.org');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('SeCrEtToKeN');
    expect(fake.requests.every((r) => !JSON.stringify(r).includes(TOKEN))).toBe(true);
  });
});
