import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runIngestSlackApi } from '../../../src/cli/commands/ingest-slack-api.js';
import { FerryError } from '../../../src/errors.js';
import { ingest } from '../../../src/ingest/ingest.js';
import { slackExportItems } from '../../../src/sources/slack/index.js';
import { readSlackApiWatermarks } from '../../../src/store/slack-api-watermarks.js';
import { createTestStore, type TestStore } from '../../support/databases.js';
import { FakeSlackApi, type FakeSlackMessage } from '../../support/fake-slack-api.js';
import { fakeWorkspaceFromExport } from '../../support/fake-slack-workspace.js';
import { recordingLogger, type LogEntry } from '../../support/recording-logger.js';
import { silentLogger } from '../../../src/logger.js';

const MODERN = 'test/fixtures/slack/modern';
const TOKEN = 'xoxb-9999-8888-SeCrEtApItOkEn';
const FAST = { 1: 60_000, 2: 60_000, 3: 60_000, 4: 60_000 };
const FAST_RETRY = { retries: 3, factor: 1, minTimeout: 1, maxTimeout: 5, randomize: false };

let t: TestStore;
let fake: FakeSlackApi;

beforeEach(async () => {
  t = await createTestStore('postgres');
  fake = await new FakeSlackApi({
    token: TOKEN,
    teamId: 'T01TEAM',
    teamName: 'Modern',
    ...fakeWorkspaceFromExport(MODERN),
  }).start();
});
afterEach(async () => {
  await fake.stop();
  await t.dispose();
});

function apiIngest(extra: Partial<Parameters<typeof runIngestSlackApi>[1]> = {}) {
  return runIngestSlackApi(t.store, {
    logger: silentLogger,
    apiUrl: fake.apiUrl,
    env: { SLACK_TOKEN: TOKEN },
    tierLimits: FAST,
    retryConfig: FAST_RETRY,
    workspaceName: 'modern',
    progress: false,
    ...extra,
  });
}

async function storedEvents(): Promise<Map<string, string>> {
  const rows = (await t.store.knex('events').select('key', 'order_key', 'sender', 'payload')) as {
    key: string;
    order_key: string;
    sender: string;
    payload: unknown;
  }[];
  return new Map(rows.map((r) => [r.key, JSON.stringify([r.order_key, r.sender, r.payload])]));
}

async function roomKeys(): Promise<string[]> {
  const rows = (await t.store.knex('rooms').orderBy('key').select('key')) as { key: string }[];
  return rows.map((r) => r.key);
}

/** A channel of `n` messages, one a minute, every tenth a thread root with two replies. */
function bigChannel(id: string, n: number, start = 1_709_000_000): FakeSlackMessage[] {
  const out: FakeSlackMessage[] = [];
  for (let i = 0; i < n; i++) {
    const ts = `${start + i * 60}.000100`;
    const root = i % 10 === 0;
    out.push({
      type: 'message',
      user: 'U01ALICE',
      text: `message ${i}`,
      ts,
      ...(root
        ? { thread_ts: ts, reply_count: 2, latest_reply: `${start + i * 60 + 2}.000100` }
        : {}),
    });
    if (root) {
      for (const r of [1, 2])
        out.push({
          type: 'message',
          user: 'U01BOB',
          text: `reply ${r} to ${i}`,
          ts: `${start + i * 60 + r}.000100`,
          thread_ts: ts,
        });
    }
  }
  return out;
}

describe('ferry ingest slack-api', () => {
  it('an export ingest then an API ingest of the same workspace: one set of rooms and events', async () => {
    const exported = await ingest(slackExportItems(MODERN, { workspaceName: 'modern' }), t.store, {
      input: MODERN,
    });
    const rooms = await roomKeys();
    const events = await storedEvents();
    const report = await apiIngest();
    expect(report.added).toEqual({ users: 0, rooms: 0, events: 0, files: 0 });
    expect(await roomKeys()).toEqual(rooms);
    const after = await storedEvents();
    expect([...after.keys()].sort()).toEqual([...events.keys()].sort());
    const changed = [...after].filter(([k, v]) => events.get(k) !== v).map(([k]) => k);
    expect(changed).toEqual([]);
    expect(report.api.conversations.read).toBe(report.api.conversations.listed);
    expect(report.api.messages).toBeGreaterThan(0);
    expect(exported.events).toBeDefined();
  });

  it('an API ingest alone gives the events an export ingest gives', async () => {
    await apiIngest();
    const api = await storedEvents();
    const other = await createTestStore('postgres');
    try {
      await ingest(slackExportItems(MODERN, { workspaceName: 'modern' }), other.store, {
        input: MODERN,
      });
      const rows = (await other.store.knex('events').select('key')) as { key: string }[];
      // The export's one reply whose root is not in the export: the API only reaches replies
      // through their root (conversations.replies), and the fake has no such root.
      const orphan = 'slack:C01GENERAL:1709337650.000150';
      expect(rows.map((r) => r.key)).toContain(orphan);
      expect([...api.keys()].sort()).toEqual(
        rows
          .map((r) => r.key)
          .filter((k) => k !== orphan)
          .sort(),
      );
    } finally {
      await other.dispose();
    }
  });

  it('a rerun reads only newer messages (refetch 0) and stores the new one', async () => {
    await apiIngest();
    const before = fake.calls('conversations.history').length;
    fake.messages.C01GENERAL?.push({
      type: 'message',
      user: 'U01BOB',
      text: 'late news',
      ts: '1709400000.000100',
    });
    const second = await apiIngest({ refetchDays: 0 });
    expect(second.added.events).toBe(1);
    const calls = fake.calls('conversations.history').slice(before);
    const general = calls.find((c) => c.args.channel === 'C01GENERAL');
    const marks = await readSlackApiWatermarks(t.store.knex);
    expect(marks.get('slack:T01TEAM')?.get('C01GENERAL')?.complete).toBe('1709400000.000100');
    // The second pass started at the first pass's newest message.
    expect(Number(general?.args.oldest)).toBeGreaterThanOrEqual(1709251000);
    expect(general?.args.latest).toBeDefined();
  });

  it('the trailing window re-reads edits and new thread replies', async () => {
    await apiIngest();
    const general = fake.messages.C01GENERAL ?? [];
    const target = general.find(
      (m) => m.thread_ts === undefined && typeof m.text === 'string' && m.subtype === undefined,
    );
    expect(target).toBeDefined();
    if (target === undefined) return;
    target.text = 'edited text';
    target.edited = { user: target.user, ts: String(Number(target.ts) + 5) };
    const second = await apiIngest({ refetchDays: 3650 });
    expect(second.updated.events).toBeGreaterThanOrEqual(1);
    const row = (await t.store
      .knex('events')
      .where({ key: `slack:C01GENERAL:${target.ts}` })
      .first('payload')) as { payload: { content?: { text?: string } } };
    expect(JSON.stringify(row.payload)).toContain('edited text');
  });

  it('pages: a checkpoint per page, watermark at the newest message, threads included', async () => {
    fake.messages.C01GENERAL = bigChannel('C01GENERAL', 120);
    fake.pageCap = 25;
    const report = await apiIngest();
    const pages = fake
      .calls('conversations.history')
      .filter((c) => c.args.channel === 'C01GENERAL');
    expect(pages.length).toBe(5);
    const count = (await t.store
      .knex('events')
      .where('room_key', 'slack:C01GENERAL')
      .count('* as n')) as { n: string | number }[];
    expect(Number(count[0]?.n)).toBeGreaterThanOrEqual(120 + 24);
    expect(report.api.threads).toBeGreaterThanOrEqual(12);
    const marks = await readSlackApiWatermarks(t.store.knex);
    expect(marks.get('slack:T01TEAM')?.get('C01GENERAL')).toMatchObject({
      complete: `${1_709_000_000 + 119 * 60}.000100`,
      pass: undefined,
    });
  });

  it('a run that fails mid-fetch keeps its committed pages; the rerun resumes at the low point and ends equal to an uninterrupted run', async () => {
    const channel = bigChannel('C01GENERAL', 200);
    fake.messages.C01GENERAL = channel;
    fake.pageCap = 30;
    // Reference: an uninterrupted run into another store.
    const reference = await createTestStore('postgres');
    const refFake = await new FakeSlackApi({
      token: TOKEN,
      teamId: 'T01TEAM',
      ...fakeWorkspaceFromExport(MODERN),
    }).start();
    refFake.messages.C01GENERAL = channel;
    refFake.pageCap = 30;
    try {
      await runIngestSlackApi(reference.store, {
        logger: silentLogger,
        apiUrl: refFake.apiUrl,
        env: { SLACK_TOKEN: TOKEN },
        tierLimits: FAST,
        retryConfig: FAST_RETRY,
        workspaceName: 'modern',
        progress: false,
      });
      const generalFirst = fake.conversations.findIndex((c) => c.info.id === 'C01GENERAL');
      expect(generalFirst).toBeGreaterThanOrEqual(0);
      // Fail after the third page of general (channels are read first, general first).
      fake.failAfterHistoryCalls = 3;
      const failed = await apiIngest().catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(FerryError);
      const mark = (await readSlackApiWatermarks(t.store.knex))
        .get('slack:T01TEAM')
        ?.get('C01GENERAL');
      expect(mark?.pass).toBeDefined();
      expect(mark?.complete).toBeUndefined();
      const stored = (await t.store
        .knex('events')
        .where('room_key', 'slack:C01GENERAL')
        .count('* as n')) as { n: string | number }[];
      expect(Number(stored[0]?.n)).toBeGreaterThan(0);

      fake.failAfterHistoryCalls = Infinity;
      const before = fake.calls('conversations.history').length;
      await apiIngest();
      const resumed = fake
        .calls('conversations.history')
        .slice(before)
        .find((c) => c.args.channel === 'C01GENERAL');
      expect(resumed?.args.latest).toBe(mark?.pass?.low);
      const rows = (await reference.store.knex('events').select('key', 'order_key', 'payload')) as {
        key: string;
        order_key: string;
        payload: unknown;
      }[];
      const expected = new Map(rows.map((r) => [r.key, JSON.stringify([r.order_key, r.payload])]));
      const got = (await t.store.knex('events').select('key', 'order_key', 'payload')) as {
        key: string;
        order_key: string;
        payload: unknown;
      }[];
      expect(new Map(got.map((r) => [r.key, JSON.stringify([r.order_key, r.payload])]))).toEqual(
        expected,
      );
    } finally {
      await refFake.stop();
      await reference.dispose();
    }
  });

  it('the non-Marketplace limit (pages cut at 15 with has_more) is detected and said, and the fetch completes', async () => {
    fake.messages.C01GENERAL = bigChannel('C01GENERAL', 40);
    for (const c of fake.conversations) c.pins = [];
    fake.limitedApp = true;
    const notices: string[] = [];
    const report = await apiIngest({ onNotice: (m) => notices.push(m) });
    expect(report.api.limited_app).toBe(true);
    expect(notices.join('\n')).toMatch(/Marketplace/);
    const count = (await t.store
      .knex('events')
      .where('room_key', 'slack:C01GENERAL')
      .count('* as n')) as { n: string | number }[];
    expect(Number(count[0]?.n)).toBe(40 + 8);
    const pages = fake
      .calls('conversations.history')
      .filter((c) => c.args.channel === 'C01GENERAL');
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.slice(1).every((c) => c.args.limit === '15')).toBe(true);
  });

  it('missing scopes and unreadable channels are counted per reason, not a failure', async () => {
    fake.unreadable.C01CAFE = 'not_in_channel';
    fake.unreadable.G01SECRET = 'channel_not_found';
    fake.missingScopes['conversations.list:im'] = 'im:read';
    fake.missingScopes['emoji.list'] = 'emoji:read';
    const report = await apiIngest();
    expect(report.api.conversations.unreadable).toMatchObject({ not_in_channel: 1 });
    expect(report.api.missing_scopes).toEqual(expect.arrayContaining(['im:read', 'emoji:read']));
    expect(report.api.unreadable.map((u) => u.reason)).toEqual(
      expect.arrayContaining(['missing_scope', 'not_in_channel']),
    );
    expect(report.api.emoji).toBeNull();
    expect(report.added.events).toBeGreaterThan(0);
  });

  it('429 with Retry-After is waited out and counted', async () => {
    fake.rateLimitNext(2, 1);
    const started = Date.now();
    const report = await apiIngest();
    expect(report.api.rate_limited).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(report.api.conversations.read).toBe(report.api.conversations.listed);
  });

  it('a wrong token: config_invalid before anything is written, the token never shown', async () => {
    const logs: LogEntry[] = [];
    const error = await runIngestSlackApi(t.store, {
      logger: recordingLogger(logs),
      apiUrl: fake.apiUrl,
      env: { SLACK_TOKEN: 'xoxb-wrong-SeCrEt' },
      tierLimits: FAST,
      retryConfig: FAST_RETRY,
      progress: false,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).code).toBe('config_invalid');
    expect((error as FerryError).message).toBe('Slack rejected the token (invalid_auth)');
    expect(JSON.stringify(logs)).not.toContain('SeCrEt');
    expect(await t.store.knex('events').count('* as n')).toEqual([{ n: expect.anything() }]);
    const n = (await t.store.knex('events').count('* as n')) as { n: string | number }[];
    expect(Number(n[0]?.n)).toBe(0);
  });
});
