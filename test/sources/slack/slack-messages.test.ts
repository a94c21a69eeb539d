/**
 * Which msgtype a Slack message gets: bots (a `bot_message`, a `bot_id`, Slackbot, or a user
 * the user list marks `is_bot`) post m.notice; people post m.text.
 */
import { describe, expect, it } from 'vitest';
import type { SourceItem, SourceKey } from '../../../src/model/index.js';
import { slackRoomKey, slackUserKey } from '../../../src/sources/slack/slack-keys.js';
import { slackMessageItems } from '../../../src/sources/slack/slack-messages.js';
import { RecordingUserRefs } from '../../../src/sources/slack/slack-user-calls.js';
import { SlackUserDirectory } from '../../../src/sources/slack/slack-users.js';

const directory = new SlackUserDirectory();
directory.learn({ id: 'U01ALICE', name: 'alice', team_id: 'T01' });
directory.learn({
  id: 'U01BOT1',
  name: 'deploybot',
  is_bot: true,
  profile: { bot_id: 'B01DEPLOY' },
});

function mapped(message: object): { msgtype?: string; sender?: string; name?: string } {
  const items: SourceItem[] = slackMessageItems(message, {
    source: 'slack:T01' as SourceKey,
    conversationId: 'C01',
    room: slackRoomKey('C01'),
    users: new RecordingUserRefs(directory),
    directory,
    localFiles: new Map(),
    folder: 'general',
    where: 'test: general/2024-03-01.json',
  });
  const event = items.find((i) => i.type === 'event')?.event;
  if (event?.kind !== 'message') return {};
  return { msgtype: event.msgtype, sender: event.sender, name: event.senderNameOverride };
}

describe('Slack message msgtype', () => {
  it('a bot_message that also carries a user (username and bot_id) is a notice by that user', () => {
    expect(
      mapped({
        type: 'message',
        subtype: 'bot_message',
        user: 'U01BOT1',
        username: 'deploybot',
        bot_id: 'B01DEPLOY',
        text: 'deployed',
        ts: '1709251500.000700',
      }),
    ).toEqual({ msgtype: 'notice', sender: slackUserKey('U01BOT1'), name: 'deploybot' });
  });

  it('a message of a user the user list marks is_bot is a notice, without bot_id or subtype', () => {
    expect(
      mapped({ type: 'message', user: 'U01BOT1', text: 'deployed', ts: '1709251500.000700' }),
    ).toEqual({ msgtype: 'notice', sender: slackUserKey('U01BOT1'), name: undefined });
  });

  it('a person’s message is text', () => {
    expect(
      mapped({ type: 'message', user: 'U01ALICE', text: 'hi', ts: '1709251500.000700' }),
    ).toMatchObject({ msgtype: 'text', sender: slackUserKey('U01ALICE') });
  });
});
