/**
 * A Slack export folder (test/fixtures/slack/…) as the fake Web API serves it: the same users,
 * conversations, members, pins and messages, so an export ingest and an API ingest of "the
 * same workspace" can be compared.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type {
  FakeSlackConversation,
  FakeSlackMessage,
  FakeSlackOptions,
  FakeSlackUser,
} from './fake-slack-api.js';

const INDEX: readonly { file: string; type: FakeSlackConversation['type'] }[] = [
  { file: 'channels.json', type: 'public_channel' },
  { file: 'groups.json', type: 'private_channel' },
  { file: 'mpims.json', type: 'mpim' },
  { file: 'dms.json', type: 'im' },
];

type Raw = Record<string, unknown>;

export function fakeWorkspaceFromExport(
  dir: string,
): Pick<FakeSlackOptions, 'users' | 'conversations' | 'messages'> {
  const users = JSON.parse(readFileSync(join(dir, 'users.json'), 'utf8')) as FakeSlackUser[];
  const conversations: FakeSlackConversation[] = [];
  const messages: Record<string, FakeSlackMessage[]> = {};
  for (const { file, type } of INDEX) {
    if (!existsSync(join(dir, file))) continue;
    for (const entry of JSON.parse(readFileSync(join(dir, file), 'utf8')) as Raw[]) {
      const id = String(entry.id);
      const { members, pins, ...info } = entry;
      const listedType =
        type === 'public_channel' && entry.is_private === true ? 'private_channel' : type;
      conversations.push({
        type: listedType,
        info: { ...info, id, ...(type === 'im' ? { is_im: true } : {}) },
        members: Array.isArray(members) ? (members as string[]) : [],
        pins: Array.isArray(pins)
          ? (pins as Raw[]).map((p) => ({
              ts: String(p.id),
              user: typeof p.user === 'string' ? p.user : undefined,
              created: typeof p.created === 'number' ? p.created : undefined,
            }))
          : [],
      });
      const folder = join(
        dir,
        type === 'im' ? id : typeof entry.name === 'string' ? entry.name : id,
      );
      const list: FakeSlackMessage[] = [];
      if (existsSync(folder)) {
        for (const day of readdirSync(folder)
          .filter((f) => /^\d{4}-\d{2}-\d{2}\.json$/.test(f))
          .sort()) {
          const parsed = JSON.parse(readFileSync(join(folder, day), 'utf8')) as unknown;
          if (!Array.isArray(parsed)) continue;
          for (const m of parsed as Raw[])
            if (typeof m.ts === 'string') list.push(m as FakeSlackMessage);
        }
      }
      messages[id] = list;
    }
  }
  return { users, conversations, messages };
}
