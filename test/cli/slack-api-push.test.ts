/**
 * A migration that never saw an export: `ferry ingest slack-api` (the fake Slack Web API
 * serving the modern fixture's workspace) → `ferry push` → `ferry verify` into a real Synapse,
 * read back through the admin API. Private channels and DMs, which only the API gives on
 * Free/Pro plans, arrive with their senders; a delta run after new Slack activity pushes only
 * the new events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../support/databases.js';
import { FakeSlackApi } from '../support/fake-slack-api.js';
import { fakeWorkspaceFromExport } from '../support/fake-slack-workspace.js';
import {
  AdminReader,
  slackGhost,
  TEST_PREFIX,
  writeFerryConfig,
  type ReadEvent,
} from '../support/migration.js';
import { runCli } from '../support/run-cli.js';
import { startSynapse, type SynapseHandle } from '../support/synapse.js';

const MODERN = 'test/fixtures/slack/modern';
const TOKEN = 'xoxb-7777-7777-PuShApIoNlY';
const FAST = ['--tier-limits', '1=60000,2=60000,3=60000,4=60000'];

interface PushSummary {
  rooms: { written: number; failed: number };
  events: { sent: number };
}

describe('ingest slack-api → push → verify (no export)', () => {
  let synapse: SynapseHandle;
  let fake: FakeSlackApi;
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let config: string;
  let reader: AdminReader;
  let firstPush: PushSummary;
  const ferry = (...args: string[]) =>
    runCli(['--config', config, '--database', db.url, ...args], { SLACK_TOKEN: TOKEN });
  const ingestApi = () => ferry('ingest', 'slack-api', '--api-url', fake.apiUrl, ...FAST, '--json');
  const messages = (events: ReadEvent[]) => events.filter((e) => e.type === 'm.room.message');
  const timelineOf = async (id: string) =>
    reader.timeline(await reader.roomIdOfAlias(`${TEST_PREFIX}slack_${id}`));

  beforeAll(async () => {
    synapse = await startSynapse();
    fake = await new FakeSlackApi({
      token: TOKEN,
      teamId: 'T01TEAM',
      teamName: 'Modern',
      ...fakeWorkspaceFromExport(MODERN),
    }).start();
    db = await createPostgresDatabase();
    config = writeFerryConfig(synapse);
    reader = new AdminReader(synapse);
    const ingest = await ingestApi();
    expect(ingest.code, ingest.stderr).toBe(0);
    const push = await ferry('push', '--json');
    expect(push.code, push.stderr).toBe(0);
    firstPush = JSON.parse(push.stdout) as PushSummary;
  }, 240_000);

  afterAll(async () => {
    await fake?.stop();
    await synapse?.stop();
    await db?.drop();
  });

  it('writes every conversation, private channel and DMs included, and verify finds nothing wrong', async () => {
    expect(firstPush.rooms.failed).toBe(0);
    expect(firstPush.rooms.written).toBeGreaterThanOrEqual(6);
    expect(firstPush.events.sent).toBeGreaterThan(0);
    const secret = await reader.state(await reader.roomIdOfAlias(`${TEST_PREFIX}slack_g01secret`));
    expect(secret.find((e) => e.type === 'm.room.join_rules')?.content.join_rule).toBe('invite');
    const secretBodies = messages(await timelineOf('g01secret')).map((e) => e.content.body);
    expect(secretBodies.length).toBeGreaterThan(0);
    const dm = messages(await timelineOf('d01ab'));
    expect(dm.length).toBeGreaterThan(0);
    expect(dm.every((e) => e.sender.startsWith(`@${TEST_PREFIX}slack_`))).toBe(true);
    const verify = await ferry('verify', '--json');
    expect(verify.code, verify.stdout).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, not_pushed: 0 });
  });

  it('a delta run after new Slack activity pushes only the new message, once', async () => {
    const before = messages(await timelineOf('c01general'));
    fake.messages.C01GENERAL = [
      ...(fake.messages.C01GENERAL ?? []),
      {
        type: 'message',
        user: 'U01BOB',
        text: 'written after the cut-over',
        ts: '1790000000.000100',
      },
    ];
    const ingest = await ingestApi();
    expect(ingest.code, ingest.stderr).toBe(0);
    const push = await ferry('push', '--json');
    expect(push.code, push.stderr).toBe(0);
    expect((JSON.parse(push.stdout) as PushSummary).events.sent).toBe(1);
    const after = messages(await timelineOf('c01general'));
    expect(after.map((e) => e.event_id).slice(0, before.length)).toEqual(
      before.map((e) => e.event_id),
    );
    expect(after).toHaveLength(before.length + 1);
    const last = after[after.length - 1]!;
    expect(last.content.body).toBe('written after the cut-over');
    expect(last.sender).toBe(slackGhost(synapse, 'U01BOB'));
    expect(last.origin_server_ts).toBe(1_790_000_000_000);
    const again = await ferry('push', '--json');
    expect((JSON.parse(again.stdout) as PushSummary).events.sent).toBe(0);
    const verify = await ferry('verify', '--json');
    expect(verify.code, verify.stdout).toBe(0);
  });
});
