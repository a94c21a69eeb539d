/**
 * users.json / org_users.json entries → UserRecords, and the compact directory the message
 * pass needs (who exists, which user a bot ID belongs to, names for placeholders).
 */
import type { SourceKey, UserKey, UserRecord } from '../../model/index.js';
import { bool, nonEmpty, obj, str, type JsonObject } from './json-guards.js';
import { slackBotKey, slackUserKey } from './slack-keys.js';

/** Converts one users.json entry; undefined when it has no usable ID. */
export function slackUserRecord(raw: unknown, source: SourceKey): UserRecord | undefined {
  const u = obj(raw);
  const id = nonEmpty(u?.id);
  if (u === undefined || id === undefined) return undefined;
  const profile = obj(u.profile) ?? {};
  const realName = nonEmpty(profile.real_name) ?? nonEmpty(u.real_name);
  return {
    key: slackUserKey(id),
    source,
    nativeId: id,
    displayName:
      nonEmpty(profile.display_name) ?? realName ?? nonEmpty(u.name) ?? nonEmpty(u.real_name) ?? id,
    handle: nonEmpty(u.name),
    realName,
    email: nonEmpty(profile.email),
    avatarUrl: avatarOf(profile),
    isBot: bool(u.is_bot) || id === 'USLACKBOT',
    isDeleted: bool(u.deleted),
    isPlaceholder: false,
    isAdmin: bool(u.is_admin) || bool(u.is_owner) || bool(u.is_primary_owner),
  };
}

function avatarOf(profile: JsonObject): string | undefined {
  return (
    nonEmpty(profile.image_original) ??
    nonEmpty(profile.image_1024) ??
    nonEmpty(profile.image_512) ??
    nonEmpty(profile.image_192) ??
    nonEmpty(profile.image_72)
  );
}

/** What the first pass over the user list learns. Memory: a few strings per user. */
export class SlackUserDirectory {
  private readonly known = new Set<string>();
  /** `B…` bot ID → user ID of the bot's users.json entry. */
  private readonly botUsers = new Map<string, string>();
  /** Users the list marks `is_bot` (their messages are notices even without a `bot_id`). */
  private readonly bots = new Set<string>();
  private readonly teamVotes = new Map<string, number>();
  private enterpriseId: string | undefined;

  learn(raw: unknown): void {
    const u = obj(raw);
    const id = nonEmpty(u?.id);
    if (u === undefined || id === undefined) return;
    this.known.add(id);
    const botId = nonEmpty(obj(u.profile)?.bot_id);
    if (botId !== undefined) this.botUsers.set(botId, id);
    if (bool(u.is_bot)) this.bots.add(id);
    const team = nonEmpty(u.team_id);
    const guest = bool(u.is_restricted) || bool(u.is_ultra_restricted);
    if (team !== undefined && !guest && !bool(u.is_bot)) {
      this.teamVotes.set(team, (this.teamVotes.get(team) ?? 0) + 1);
    }
    this.enterpriseId ??= nonEmpty(obj(u.enterprise_user)?.enterprise_id);
  }

  has(userId: string): boolean {
    return this.known.has(userId);
  }

  /** What the message pass needs (`has`, `userOfBot`, `isBotUser`), as plain data for a worker. */
  lookups(): SlackUserLookupData {
    return { known: [...this.known], botUsers: [...this.botUsers], bots: [...this.bots] };
  }

  userOfBot(botId: string): string | undefined {
    return this.botUsers.get(botId);
  }

  isBotUser(userId: string): boolean {
    return this.bots.has(userId);
  }

  /** The org (Grid) or workspace ID that most users belong to. */
  workspaceId(): string | undefined {
    if (this.enterpriseId !== undefined) return this.enterpriseId;
    let best: string | undefined;
    let votes = 0;
    for (const [team, n] of this.teamVotes) {
      if (n > votes) [best, votes] = [team, n];
    }
    return best;
  }
}

/** `SlackUserDirectory.lookups()`: user IDs, `B…` bot ID → user ID pairs, `is_bot` users. */
export interface SlackUserLookupData {
  known: string[];
  botUsers: [string, string][];
  bots: string[];
}

/** The directory's lookups, rebuilt from `SlackUserDirectory.lookups()` in a worker. */
export class SlackUserLookups {
  private readonly known: ReadonlySet<string>;
  private readonly botUsers: ReadonlyMap<string, string>;
  private readonly bots: ReadonlySet<string>;

  constructor(data: SlackUserLookupData) {
    this.known = new Set(data.known);
    this.botUsers = new Map(data.botUsers);
    this.bots = new Set(data.bots);
  }

  has(userId: string): boolean {
    return this.known.has(userId);
  }

  userOfBot(botId: string): string | undefined {
    return this.botUsers.get(botId);
  }

  isBotUser(userId: string): boolean {
    return this.bots.has(userId);
  }
}

/**
 * Users referenced by history but missing from the user list, with the best name seen for
 * each (a `user_profile` snapshot, a bot profile, a message `username`).
 */
export class SlackPlaceholderCollector {
  private readonly missing = new Map<UserKey, Omit<UserRecord, 'source'>>();
  private changes = 0;

  constructor(private readonly directory: { has(userId: string): boolean }) {}

  /** Grows whenever a call adds a placeholder or improves one (never on a no-op call). */
  get version(): number {
    return this.changes;
  }

  /** Notes a reference to a user ID; returns its key. */
  user(id: string, snapshot?: JsonObject): UserKey {
    const key = slackUserKey(id);
    if (this.directory.has(id)) return key;
    const existing = this.missing.get(key);
    const name = snapshot === undefined ? undefined : snapshotName(snapshot);
    if (existing === undefined) {
      this.changes += 1;
      this.missing.set(key, {
        key,
        nativeId: id,
        displayName: name ?? (id === 'USLACKBOT' ? 'Slackbot' : id),
        handle: snapshot === undefined ? undefined : nonEmpty(snapshot.name),
        realName: snapshot === undefined ? undefined : nonEmpty(snapshot.real_name),
        avatarUrl: snapshot === undefined ? undefined : nonEmpty(snapshot.image_72),
        isBot: id === 'USLACKBOT',
        isDeleted: false,
        isPlaceholder: true,
        isAdmin: false,
      });
    } else if (name !== undefined && existing.displayName === id) {
      this.changes += 1;
      existing.displayName = name;
      existing.handle ??= snapshot === undefined ? undefined : nonEmpty(snapshot.name);
    }
    return key;
  }

  /** Notes a bot that has no users.json entry (keyed by bot ID or name). */
  bot(botIdOrName: string, name: string | undefined, icon: string | undefined): UserKey {
    const key = slackBotKey(botIdOrName);
    if (!this.missing.has(key)) {
      this.changes += 1;
      this.missing.set(key, {
        key,
        nativeId: botIdOrName,
        displayName: name ?? botIdOrName,
        handle: name,
        avatarUrl: icon,
        isBot: true,
        isDeleted: false,
        isPlaceholder: true,
        isAdmin: false,
      });
    }
    return key;
  }

  records(source: SourceKey): UserRecord[] {
    return [...this.missing.values()].map((u) => ({ ...u, source }));
  }
}

function snapshotName(p: JsonObject): string | undefined {
  return nonEmpty(p.display_name) ?? nonEmpty(p.real_name) ?? nonEmpty(p.name) ?? str(p.first_name);
}
