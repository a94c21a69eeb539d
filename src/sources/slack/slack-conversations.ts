/**
 * channels.json, groups.json, mpims.json and dms.json entries → RoomRecords, plus the folder
 * each conversation's day files live in.
 */
import type { RoomKey, RoomKind, RoomRecord, SourceKey } from '../../model/index.js';
import { bool, nonEmpty, obj, strings } from './json-guards.js';
import { slackRoomKey } from './slack-keys.js';
import { slackSecondsToMillis } from './slack-ts.js';
import type { SlackPlaceholderCollector } from './slack-users.js';

/** The index files and the room kind each one lists. */
export const SLACK_INDEX_FILES: readonly { file: string; kind: RoomKind }[] = [
  { file: 'channels.json', kind: 'channel' },
  { file: 'groups.json', kind: 'private' },
  { file: 'mpims.json', kind: 'group_dm' },
  { file: 'dms.json', kind: 'dm' },
];

export interface SlackConversation {
  room: RoomRecord;
  /** Folder of day files, relative to the export root it was listed in. */
  folder: string;
  /** Conversation ID (`C…`, `G…`, `D…`). */
  id: string;
}

/**
 * Converts one index entry. DMs live in a folder named by ID, everything else by name.
 * Returns undefined for entries without an ID.
 */
export function slackConversation(
  raw: unknown,
  listedAs: RoomKind,
  ctx: {
    source: SourceKey;
    parent?: RoomKey;
    users: SlackPlaceholderCollector;
    folderPrefix: string;
  },
): SlackConversation | undefined {
  const c = obj(raw);
  const id = nonEmpty(c?.id);
  if (c === undefined || id === undefined) return undefined;
  const name = nonEmpty(c.name);
  // API-style exports list private channels in channels.json with is_private.
  const kind: RoomKind =
    listedAs === 'channel' && (bool(c.is_private) || bool(c.is_group)) ? 'private' : listedAs;
  const memberIds =
    kind === 'dm' && c.members === undefined ? strings([c.user]) : strings(c.members);
  const creator = nonEmpty(c.creator);
  const folder = kind === 'dm' ? id : (name ?? id);
  return {
    id,
    folder: ctx.folderPrefix + folder,
    room: {
      key: slackRoomKey(id),
      source: ctx.source,
      nativeId: id,
      kind,
      name: kind === 'dm' ? undefined : name,
      topic: nonEmpty(obj(c.topic)?.value),
      purpose: nonEmpty(obj(c.purpose)?.value),
      createdAt: slackSecondsToMillis(c.created),
      creator: creator === undefined ? undefined : ctx.users.user(creator),
      isArchived: bool(c.is_archived),
      isGeneral: bool(c.is_general),
      members: [...new Set(memberIds)].map((m) => ctx.users.user(m)),
      parent: kind === 'channel' || kind === 'private' ? ctx.parent : undefined,
    },
  };
}

/** Pins recorded in an index entry: `[{id: <message ts>, created, user}]`. */
export function slackIndexPins(raw: unknown): { ts: string; user?: string; created?: number }[] {
  const pins = obj(raw)?.pins;
  if (!Array.isArray(pins)) return [];
  const out: { ts: string; user?: string; created?: number }[] = [];
  for (const p of pins) {
    const pin = obj(p);
    const ts = nonEmpty(pin?.id);
    if (pin === undefined || ts === undefined) continue;
    out.push({ ts, user: nonEmpty(pin.user), created: slackSecondsToMillis(pin.created) });
  }
  return out;
}
