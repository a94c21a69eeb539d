/**
 * A full migration of the Slack fixtures into a real Synapse, read back through the admin API
 * (not the writer's code).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../support/databases.js';
import { copyFixture, readJson, writeJson } from '../support/fixture-copy.js';
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
const tsOf = (slackTs: string) =>
  Math.floor(Number(slackTs.split('.')[0]) * 1000 + Number(slackTs.split('.')[1]) / 1000);

describe('push into a real Synapse', () => {
  let synapse: SynapseHandle;
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let config: string;
  let reader: AdminReader;
  let general: ReadEvent[];
  const ferry = (...args: string[]) => runCli(['--config', config, '--database', db.url, ...args]);

  beforeAll(async () => {
    synapse = await startSynapse();
    db = await createPostgresDatabase();
    config = writeFerryConfig(synapse);
    reader = new AdminReader(synapse);
    const ingest = await ferry('ingest', 'slack', MODERN, '--json');
    expect(ingest.code, ingest.stderr).toBe(0);
    const push = await ferry('push', '--json');
    expect(push.code, push.stderr).toBe(0);
    const summary = JSON.parse(push.stdout) as {
      rooms: { written: number; failed: number };
      events: { sent: number };
    };
    expect(summary.rooms).toEqual({ written: 7, failed: 0 });
    general = await reader.timeline(await reader.roomIdOfAlias(`${TEST_PREFIX}slack_c01general`));
  }, 240_000);

  afterAll(async () => {
    await synapse?.stop();
    await db?.drop();
  });

  const messages = (events: ReadEvent[]) => events.filter((e) => e.type === 'm.room.message');
  const byBody = (body: string) => {
    const e = messages(general).find((m) => m.content.body === body);
    if (e === undefined) throw new Error(`no message "${body}"`);
    return e;
  };

  it('creates every room with its alias, and the workspace space with the channels as children', async () => {
    const rooms = await reader.rooms();
    const aliases = rooms
      .map((r) => r.canonical_alias)
      .filter((a) => a !== null)
      .sort();
    expect(aliases).toEqual(
      ['c01cafe', 'c01general', 'c01mpim', 'd01ab', 'd01self', 'g01secret', 't01team'].map(
        (a) => `#${TEST_PREFIX}slack_${a}:${synapse.serverName}`,
      ),
    );
    const space = await reader.roomIdOfAlias(`${TEST_PREFIX}slack_t01team`);
    const spaceState = await reader.state(space);
    expect(spaceState.find((e) => e.type === 'm.room.create')?.content.type).toBe('m.space');
    const children = spaceState.filter((e) => e.type === 'm.space.child').map((e) => e.state_key);
    expect(children).toHaveLength(3); // general, café-été, secret-plans — DMs are not in the space
    const secret = await reader.state(await reader.roomIdOfAlias(`${TEST_PREFIX}slack_g01secret`));
    expect(secret.find((e) => e.type === 'm.room.join_rules')?.content.join_rule).toBe('invite');
    expect(
      secret.find((e) => e.type === 'm.room.history_visibility')?.content.history_visibility,
    ).toBe('shared');
  });

  it('writes each message as its original sender at its original time, in order', () => {
    const m = byBody('first in the same millisecond');
    expect(m.sender).toBe(slackGhost(synapse, 'U01BOB'));
    expect(m.origin_server_ts).toBe(tsOf('1709251300.000300'));
    const bodies = messages(general).map((e) => String(e.content.body));
    expect(bodies.indexOf('first in the same millisecond')).toBeLessThan(
      bodies.indexOf('second in the same millisecond'),
    );
    const stamps = general
      .filter((e) => e.sender !== `@${TEST_PREFIX}bot:${synapse.serverName}`)
      .map((e) => e.origin_server_ts);
    expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
    expect(m.content['m.mentions']).toEqual({});
  });

  it('renders mrkdwn as HTML with pills and entities decoded once', () => {
    const m = messages(general).find((e) => String(e.content.body).startsWith('Deploy is done'))!;
    expect(m.content.body).toContain('Deploy is done & green');
    expect(String(m.content.formatted_body)).toContain(
      `https://matrix.to/#/${slackGhost(synapse, 'U01BOB')}`,
    );
    expect(String(m.content.body)).toContain('(edited)');
  });

  it('threads replies on their root, including replies from a later day file, and sends a broadcast once', () => {
    const root = byBody('Thread root');
    for (const body of ['a reply', 'a broadcast reply', 'late reply, next day']) {
      const reply = byBody(body);
      expect(reply.content['m.relates_to'] as { rel_type: string; event_id: string }).toMatchObject(
        { rel_type: 'm.thread', event_id: root.event_id },
      );
    }
    expect(messages(general).filter((e) => e.content.body === 'a broadcast reply')).toHaveLength(1);
  });

  it('sends reactions as annotations by each reactor, skin tone kept', () => {
    const target = messages(general).find((e) =>
      String(e.content.body).startsWith('Deploy is done'),
    )!;
    const reactions = general.filter((e) => e.type === 'm.reaction');
    expect(
      reactions.map((r) => [r.sender, (r.content['m.relates_to'] as { key: string }).key]),
    ).toEqual([
      [slackGhost(synapse, 'U01BOB'), '👍🏼'],
      [slackGhost(synapse, 'U01ZOE'), '👍🏼'],
      [slackGhost(synapse, 'U01BOB'), '🎉'],
    ]);
    for (const r of reactions)
      expect((r.content['m.relates_to'] as { event_id: string }).event_id).toBe(target.event_id);
  });

  it('uploads file bodies from the export and links the rest without tokens', () => {
    const image = messages(general).find((e) => e.content.msgtype === 'm.image')!;
    expect(image.content).toMatchObject({
      body: 'screen shot.png',
      url: expect.stringMatching(/^mxc:\/\//),
    });
    const all = JSON.stringify(general);
    expect(all).not.toContain('xoxe');
  });

  it('sends emotes, bot notices, topic changes, pins and memberships', () => {
    expect(byBody('is deploying').content.msgtype).toBe('m.emote');
    expect(byBody('Issue created')).toMatchObject({
      sender: slackGhost(synapse, 'B09JIRA').replace('slack_b09jira', 'slack_b09jira'),
      content: { msgtype: 'm.notice' },
    });
    expect(
      general.find((e) => e.type === 'm.room.topic' && e.content.topic === 'New topic')
        ?.origin_server_ts,
    ).toBe(tsOf('1709251560.001300'));
    const pins = general.filter((e) => e.type === 'm.room.pinned_events').at(-1);
    expect((pins?.content.pinned as string[]).length).toBe(2);
    const leave = general.find(
      (e) => e.type === 'm.room.member' && e.content.membership === 'leave',
    );
    expect(leave?.state_key).toBe(slackGhost(synapse, 'U01ZOE'));
  });

  it('marks DMs as direct for their members', async () => {
    const alice = slackGhost(synapse, 'U01ALICE');
    const data = await reader.accountData(alice);
    const direct = data.account_data.global['m.direct'] as Record<string, string[]>;
    const dm = await reader.roomIdOfAlias(`${TEST_PREFIX}slack_d01ab`);
    const group = await reader.roomIdOfAlias(`${TEST_PREFIX}slack_c01mpim`);
    expect(direct[slackGhost(synapse, 'U01BOB')]?.sort()).toEqual([dm, group].sort());
    expect(direct[slackGhost(synapse, 'U01ZOE')]).toEqual([group]);
    const invite = (await reader.timeline(dm)).find(
      (e) => e.type === 'm.room.member' && e.content.membership === 'invite',
    );
    expect(invite?.content.is_direct).toBe(true);
  });

  it('verify reads every room back and finds nothing wrong', async () => {
    const verify = await ferry('verify', '--json');
    expect(verify.code, verify.stdout).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({
      ok: true,
      missing: 0,
      duplicated: 0,
      out_of_order: 0,
      wrong_sender: 0,
      wrong_ts: 0,
      not_pushed: 0,
    });
  });

  it('status reports what push did', async () => {
    const status = await ferry('status', '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({
      push: { rooms: { done: 7, failed: 0, pending: 0 }, events_not_pushed: 0 },
    });
  });

  it('sends nothing when pushed again', async () => {
    const again = await ferry('push', '--json');
    const summary = JSON.parse(again.stdout) as { events: { sent: number } };
    expect(summary.events.sent).toBe(0);
    const after = await reader.timeline(
      await reader.roomIdOfAlias(`${TEST_PREFIX}slack_c01general`),
    );
    expect(after.length).toBe(general.length);
  });

  it('appends only new events after a newer export, and reports older ones per room', async () => {
    const newer = copyFixture(MODERN);
    const dayPath = join(newer, 'general', '2024-03-02.json');
    const day = readJson(dayPath) as object[];
    day.push({ type: 'message', user: 'U01BOB', text: 'newest message', ts: '1709400000.000100' });
    writeJson(dayPath, day);
    writeJson(join(newer, 'general', '2024-02-01.json'), [
      { type: 'message', user: 'U01BOB', text: 'from before the import', ts: '1706745600.000100' },
    ]);
    const ingest = await ferry('ingest', 'slack', newer, '--json');
    expect(JSON.parse(ingest.stdout)).toMatchObject({ added: { events: 2 } });
    const push = await ferry('push', '--json');
    const summary = JSON.parse(push.stdout) as {
      events: { sent: number };
      late: Record<string, number>;
    };
    expect(summary.events.sent).toBe(1);
    expect(summary.late).toEqual({ 'slack:C01GENERAL': 1 });
    const after = await reader.timeline(
      await reader.roomIdOfAlias(`${TEST_PREFIX}slack_c01general`),
    );
    expect(messages(after).at(-1)?.content.body).toBe('newest message');
    expect(messages(after).some((e) => e.content.body === 'from before the import')).toBe(false);
    const verify = await ferry('verify', '--json');
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, late: 1, not_pushed: 0 });
  });

  it('posts a bot user’s messages as m.notice: a bot_message with user, and one without bot_id', async () => {
    const withBotUser = copyFixture(MODERN);
    writeJson(join(withBotUser, 'general', '2024-03-06.json'), [
      {
        type: 'message',
        subtype: 'bot_message',
        user: 'U01BOT1',
        username: 'deploybot',
        bot_id: 'B01DEPLOY',
        text: 'deployed by the bot user',
        ts: '1709700000.000100',
      },
      // U01BOT1 is `is_bot` in users.json: a notice even with neither subtype nor bot_id.
      { type: 'message', user: 'U01BOT1', text: 'the bot user, plainly', ts: '1709700001.000100' },
    ]);
    const ingest = await ferry('ingest', 'slack', withBotUser, '--json');
    expect(JSON.parse(ingest.stdout)).toMatchObject({ added: { events: 2 } });
    const push = await ferry('push', '--json');
    expect(push.code, push.stderr).toBe(0);
    const after = messages(
      await reader.timeline(await reader.roomIdOfAlias(`${TEST_PREFIX}slack_c01general`)),
    );
    for (const text of ['deployed by the bot user', 'the bot user, plainly']) {
      expect(after.find((e) => String(e.content.body).includes(text))).toMatchObject({
        sender: slackGhost(synapse, 'U01BOT1'),
        content: { msgtype: 'm.notice' },
      });
    }
  });
});
