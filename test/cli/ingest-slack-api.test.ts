/**
 * `ferry ingest slack-api` as a user runs it: a real `ferry` child process against the fake
 * Slack Web API, on the real PostgreSQL. kill -9 mid-fetch (twice, at different points), then
 * a rerun: the store ends equal to an uninterrupted run's, nothing lost or duplicated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/store.js';
import { createPostgresDatabase } from '../support/databases.js';
import { FakeSlackApi, type FakeSlackMessage } from '../support/fake-slack-api.js';
import { fakeWorkspaceFromExport } from '../support/fake-slack-workspace.js';
import { runCli, startCli } from '../support/run-cli.js';

const MODERN = 'test/fixtures/slack/modern';
const TOKEN = 'xoxb-4242-4242-KiLlNiNeToKeN';
const FAST = ['--tier-limits', '1=60000,2=60000,3=60000,4=60000'];

let fake: FakeSlackApi;
const drops: (() => Promise<void>)[] = [];
const stores: Store[] = [];

function channel(n: number): FakeSlackMessage[] {
  const out: FakeSlackMessage[] = [];
  for (let i = 0; i < n; i++) {
    const ts = `${1_709_000_000 + i * 60}.000100`;
    const root = i % 7 === 0;
    out.push({
      type: 'message',
      user: i % 2 === 0 ? 'U01ALICE' : 'U01BOB',
      text: `message ${i}`,
      ts,
      reactions: i % 5 === 0 ? [{ name: 'tada', users: ['U01ZOE'], count: 1 }] : undefined,
      ...(root ? { thread_ts: ts, reply_count: 1 } : {}),
    });
    if (root)
      out.push({
        type: 'message',
        user: 'U01ZOE',
        text: `reply to ${i}`,
        ts: `${1_709_000_000 + i * 60 + 1}.000100`,
        thread_ts: ts,
      });
  }
  return out;
}

beforeAll(async () => {
  fake = await new FakeSlackApi({
    token: TOKEN,
    teamId: 'T01TEAM',
    teamName: 'Modern',
    ...fakeWorkspaceFromExport(MODERN),
  }).start();
  fake.messages.C01GENERAL = channel(400);
  fake.messages.G01SECRET = channel(150).map((m) => ({ ...m, text: `secret ${String(m.text)}` }));
  fake.pageCap = 20;
});
afterAll(async () => {
  await fake.stop();
  for (const s of stores) await s.close();
  for (const d of drops) await d();
});

async function database(): Promise<string> {
  const db = await createPostgresDatabase();
  drops.push(db.drop);
  return db.url;
}

const args = (url: string, ...more: string[]) => [
  '--database',
  url,
  'ingest',
  'slack-api',
  '--api-url',
  fake.apiUrl,
  ...FAST,
  ...more,
];

const start = (argv: string[]) => startCli(argv, { SLACK_TOKEN: TOKEN });

async function snapshot(url: string) {
  const store = await openStore({ databaseUrl: url, migrate: false });
  stores.push(store);
  const events = (await store
    .knex('events')
    .orderBy('key')
    .select('key', 'room_key', 'order_key', 'sender', 'payload')) as unknown[];
  const rooms = (await store
    .knex('rooms')
    .orderBy('key')
    .select('key', 'members', 'name')) as unknown[];
  const users = (await store
    .knex('users')
    .orderBy('key')
    .select('key', 'display_name')) as unknown[];
  const marks = (await store
    .knex('slack_api_watermarks')
    .orderBy('conversation_id')
    .select('conversation_id', 'complete_ts', 'pass_top_ts')) as unknown[];
  return { events, rooms, users, marks };
}

describe('ferry ingest slack-api (CLI)', () => {
  it('kill -9 twice mid-fetch, then a rerun: the store equals an uninterrupted run’s', async () => {
    const reference = await database();
    const ok = await runCli(args(reference, '--json'), { SLACK_TOKEN: TOKEN });
    expect(ok.code, ok.stderr).toBe(0);
    const summary = JSON.parse(ok.stdout) as Record<string, unknown>;
    expect(Object.keys(summary)).toEqual(
      expect.arrayContaining(['added', 'updated', 'existing', 'api', 'events', 'rooms']),
    );
    expect(ok.stderr).not.toContain(TOKEN);
    const want = await snapshot(reference);

    const crashed = await database();
    fake.delayMs = 3;
    const killPoints = [
      // Deep inside general's history (history pages of 20, a thread every 7 messages).
      (base: number) => fake.calls('conversations.history').length >= base + 6,
      // Later: inside the private channel's pass, between a history page and its threads.
      (base: number) => fake.calls('conversations.replies').length >= base + 70,
    ];
    for (const point of killPoints) {
      const base =
        point === killPoints[0]
          ? fake.calls('conversations.history').length
          : fake.calls('conversations.replies').length;
      const run = start(args(crashed, '--json'));
      let exited = false;
      void run.done.then(() => (exited = true));
      while (!exited && !point(base)) await new Promise((r) => setTimeout(r, 5));
      expect(exited, 'the run ended before its kill point').toBe(false);
      run.child.kill('SIGKILL');
      await run.done;
    }
    fake.delayMs = 0;
    const partial = await snapshot(crashed);
    expect(partial.events.length).toBeGreaterThan(0);
    expect(partial.events.length).toBeLessThan(want.events.length);

    const last = await runCli(args(crashed, '--json'), { SLACK_TOKEN: TOKEN });
    expect(last.code, last.stderr).toBe(0);
    const got = await snapshot(crashed);
    expect(got.events.length).toBe(want.events.length);
    expect(got.events).toEqual(want.events);
    expect(got.rooms).toEqual(want.rooms);
    expect(got.users).toEqual(want.users);
    expect(got.marks).toEqual(want.marks);
  }, 120_000);

  it('an invalid token: exit 2, one line, the token never shown', async () => {
    const url = await database();
    const r = await runCli(args(url), { SLACK_TOKEN: 'xoxb-1-2-NoTtHeToKeN' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['ferry: Slack rejected the token (invalid_auth)']);
    expect(r.stderr + r.stdout).not.toContain('NoTtHeToKeN');
  });

  it('no token: exit 2 naming $SLACK_TOKEN', async () => {
    const url = await database();
    const r = await runCli(args(url), { SLACK_TOKEN: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\$SLACK_TOKEN/);
  });
});
