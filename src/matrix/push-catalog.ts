/**
 * What the writer needs to know about users and rooms, read once from the store: model keys →
 * ghost Matrix IDs and names. Memory: one small record per user and per room.
 *
 * Custom Slack emoji for message text are the exception: they are read per room
 * (`customEmoji`), because their images are uploaded during the push, after this is loaded.
 */
import type { Knex } from 'knex';
import {
  identityRules,
  type IdentityOrigin,
  type IdentityRules,
} from '../mapping/identity-rules.js';
import type { IdentityMapper } from '../mapping/identity.js';
import type { CustomEmoji } from '../mapping/slack-format.js';
import { resolveIdentities, type EmailLookup } from './identity-resolver.js';
import type {
  RoomKey,
  RoomKind,
  RoomRecord,
  SourceKey,
  SourceKind,
  UserKey,
} from '../model/index.js';
import { roomKey as toRoomKey, sourceKey, userKey as toUserKey } from '../model/index.js';

export interface CatalogUser {
  key: UserKey;
  mxid: `@${string}:${string}`;
  /** Why this Matrix ID: only `ghost` accounts are registered and given profiles by ferry. */
  origin: IdentityOrigin;
  displayName: string;
  avatarUrl?: string;
  isAdmin: boolean;
  isBot: boolean;
}

export interface CatalogRoom {
  record: RoomRecord;
  sourceKind: SourceKind;
  alias: `#${string}:${string}`;
  /** An existing room (ID or alias) to write into instead of creating one (config `rooms`). */
  target?: string;
}

/** Custom emoji name (bare, e.g. `partyparrot`) → what it renders as in message text. */
export type CustomEmojiTable = ReadonlyMap<string, CustomEmoji>;

export interface CatalogOptions {
  rules?: IdentityRules;
  lookupEmail?: EmailLookup;
  /** Room native ID or key → existing room ID or alias. */
  roomTargets?: Readonly<Record<string, string>>;
}

export class PushCatalog {
  private constructor(
    readonly users: ReadonlyMap<UserKey, CatalogUser>,
    readonly rooms: ReadonlyMap<RoomKey, CatalogRoom>,
    /** Slack-style native conversation ID → room key, for channel mentions. */
    readonly roomByNativeId: ReadonlyMap<string, RoomKey>,
    /** Native user ID → user key, for user mentions. */
    readonly userByNativeId: ReadonlyMap<string, UserKey>,
    /** Custom Slack emoji name → the standard shortcode it aliases (enrichment). */
    readonly emojiAliases: ReadonlyMap<string, string>,
    private readonly db: Knex,
  ) {}

  static async load(
    db: Knex,
    identity: IdentityMapper,
    options: CatalogOptions = {},
  ): Promise<PushCatalog> {
    const { users, userByNativeId } = await loadUsers(db, identity, options);
    const { rooms, roomByNativeId } = await loadRooms(db, identity, options);
    const aliasRows = (await db('slack_custom_emoji')
      .whereNotNull('alias_of')
      .select('name', 'alias_of')) as { name: string; alias_of: string }[];
    const emojiAliases = new Map(aliasRows.map((r) => [r.name, r.alias_of]));
    return new PushCatalog(users, rooms, roomByNativeId, userByNativeId, emojiAliases, db);
  }

  /**
   * The custom emoji of one Slack source (`ferry enrich slack --emoji`), read from the store
   * now rather than at `load`:
   * - `image` for names whose image `push` uploaded: `slack_custom_emoji` joined with
   *   `matrix_media` on `media_key = 'slack-emoji:' || url`, status `uploaded`;
   * - `alias` for names that alias a standard emoji (`alias_of`);
   * - names whose image is not uploaded (downloads disabled, failed) are absent.
   *
   * Why lazily: `push` uploads the images (`sendEmojiPacks`) after the catalog is loaded, once
   * the spaces are written and before any conversation room. The room writer therefore calls
   * this once per room, before writing it, and so sees every image uploaded so far (also by
   * another process). Cost: one indexed query per room; memory: one entry per emoji of the
   * room's source, held by the writer for that room only.
   */
  async customEmoji(source: SourceKey): Promise<CustomEmojiTable> {
    const rows = (await this.db('slack_custom_emoji as e')
      .leftJoin('matrix_media as m', (j) =>
        j
          .on('m.media_key', '=', this.db.raw(`'slack-emoji:' || e.url`))
          .andOn('m.status', '=', this.db.raw(`'uploaded'`)),
      )
      .where('e.source_key', source)
      .select('e.name', 'e.alias_of', 'm.mxc')) as {
      name: string;
      alias_of: string | null;
      mxc: string | null;
    }[];
    const table = new Map<string, CustomEmoji>();
    for (const row of rows) {
      if (row.mxc !== null) table.set(row.name, { kind: 'image', mxc: row.mxc });
      else if (row.alias_of !== null)
        table.set(row.name, { kind: 'alias', shortcode: row.alias_of });
    }
    return table;
  }

  user(key: UserKey): CatalogUser {
    const user = this.users.get(key);
    if (user === undefined) throw new Error(`user ${key} is referenced but not in the store`);
    return user;
  }
}

interface UserRow {
  key: string;
  native_id: string;
  display_name: string;
  handle: string | null;
  email: string | null;
  avatar_url: string | null;
  is_admin: boolean;
  is_bot: boolean;
  kind: SourceKind;
}

/** Every stored user with the Matrix ID the identity rules give it (a ghost by default). */
async function loadUsers(db: Knex, identity: IdentityMapper, options: CatalogOptions) {
  const userRows = (await db('users as u')
    .join('sources as s', 's.key', 'u.source_key')
    .select(
      'u.key',
      'u.native_id',
      'u.display_name',
      'u.handle',
      'u.email',
      'u.avatar_url',
      'u.is_admin',
      'u.is_bot',
      's.kind',
    )) as UserRow[];
  const resolved = await resolveIdentities(
    userRows.map((u) => ({
      key: toUserKey(u.key),
      kind: u.kind,
      nativeId: u.native_id,
      handle: u.handle ?? undefined,
      email: u.email ?? undefined,
    })),
    identity,
    options.rules ?? identityRules({}),
    options.lookupEmail,
  );
  const users = new Map<UserKey, CatalogUser>();
  const userByNativeId = new Map<string, UserKey>();
  for (const u of userRows) {
    const key = toUserKey(u.key);
    const id = resolved.get(key) ?? {
      mxid: identity.uniqueGhostUserId(u.kind, u.native_id),
      origin: 'ghost' as const,
    };
    users.set(key, {
      key,
      mxid: id.mxid,
      origin: id.origin,
      displayName: u.display_name,
      avatarUrl: u.avatar_url ?? undefined,
      isAdmin: u.is_admin,
      isBot: u.is_bot,
    });
    userByNativeId.set(u.native_id, key);
  }
  return { users, userByNativeId };
}

type RoomRow = Record<string, unknown> & {
  key: string;
  native_id: string;
  kind: RoomKind;
  source_kind: SourceKind;
};

/** Every stored room with its alias and, when the config maps it, its existing target room. */
async function loadRooms(db: Knex, identity: IdentityMapper, options: CatalogOptions) {
  const roomRows = (await db('rooms as r')
    .join('sources as s', 's.key', 'r.source_key')
    .select('r.*', 's.kind as source_kind')) as RoomRow[];
  const rooms = new Map<RoomKey, CatalogRoom>();
  const roomByNativeId = new Map<string, RoomKey>();
  for (const r of roomRows) {
    const record = roomRecordFromRow(r);
    const target = options.roomTargets?.[record.key] ?? options.roomTargets?.[r.native_id];
    rooms.set(record.key, {
      record,
      sourceKind: r.source_kind,
      alias: identity.roomAlias(r.source_kind, r.native_id),
      ...(target === undefined ? {} : { target }),
    });
    roomByNativeId.set(r.native_id, record.key);
  }
  return { rooms, roomByNativeId };
}

function roomRecordFromRow(r: RoomRow): RoomRecord {
  return {
    key: toRoomKey(r.key),
    source: sourceKey(String(r.source_key)),
    nativeId: r.native_id,
    kind: r.kind,
    name: (r.name as string | null) ?? undefined,
    topic: (r.topic as string | null) ?? undefined,
    purpose: (r.purpose as string | null) ?? undefined,
    createdAt: r.created_at_ms === null ? undefined : Number(r.created_at_ms),
    creator: typeof r.creator === 'string' ? toUserKey(r.creator) : undefined,
    isArchived: r.is_archived === true,
    isGeneral: r.is_general === true,
    members: (r.members as string[]).map(toUserKey),
    parent: typeof r.parent === 'string' ? toRoomKey(r.parent) : undefined,
  };
}
