/**
 * Batched, idempotent upserts of model records.
 *
 * Each batch is one `INSERT … SELECT FROM unnest(…) ON CONFLICT (key) DO UPDATE … WHERE
 * <something changed>` statement: a row that is new counts as added, a row whose content
 * changed counts as updated, anything else as existing. The same statement runs on PGlite and
 * PostgreSQL.
 */
import type { Knex } from 'knex';
import type {
  MediaRecord,
  RoomRecord,
  SourceRecord,
  TimelineEvent,
  UserRecord,
} from '../model/index.js';
import { eventPayload } from '../model/event-payload.js';

export interface UpsertCounts {
  added: number;
  updated: number;
  existing: number;
}

export const zeroCounts = (): UpsertCounts => ({ added: 0, updated: 0, existing: 0 });

export function addCounts(into: UpsertCounts, more: UpsertCounts): void {
  into.added += more.added;
  into.updated += more.updated;
  into.existing += more.existing;
}

interface Column<R> {
  name: string;
  type: 'text' | 'bigint' | 'boolean' | 'jsonb' | 'integer';
  value: (record: R) => string | number | boolean | null;
  /** Compared to decide whether a conflicting row changed (default true). */
  compared?: boolean;
  /**
   * A source that does not know the value (null) never erases what another source said: one
   * export of a room may carry its name, another not.
   */
  keepWhenNull?: boolean;
  /** Written when the row is inserted; later values are decided elsewhere (room-claims.ts). */
  insertOnly?: boolean;
}

async function upsert<R>(
  db: Knex | Knex.Transaction,
  table: string,
  columns: readonly Column<R>[],
  records: readonly R[],
  runId: number,
  extraWhere = '',
): Promise<UpsertCounts> {
  if (records.length === 0) return zeroCounts();
  const names = columns.map((c) => c.name);
  const arrays = columns.map((c) => records.map((r) => c.value(r)));
  const casts = columns.map((c) => `?::${c.type === 'jsonb' ? 'text' : c.type}[]`);
  const selects = columns.map((c) => (c.type === 'jsonb' ? `${c.name}::jsonb` : c.name));
  const compared = columns.filter(
    (c) => c.compared !== false && c.insertOnly !== true && c.name !== 'key',
  );
  const changed = compared.map((c) =>
    c.keepWhenNull === true
      ? `(excluded.${c.name} is not null and ${table}.${c.name} is distinct from excluded.${c.name})`
      : `${table}.${c.name} is distinct from excluded.${c.name}`,
  );
  const sets = compared.map((c) =>
    c.keepWhenNull === true
      ? `${c.name} = coalesce(excluded.${c.name}, ${table}.${c.name})`
      : `${c.name} = excluded.${c.name}`,
  );
  const sql = `
    insert into ${table} (${names.join(', ')}, first_run, last_changed_run)
    select ${selects.join(', ')}, ${runId}, ${runId}
    from unnest(${casts.join(', ')}) as t(${names.join(', ')})
    on conflict (key) do update set ${sets.join(', ')}, last_changed_run = ${runId}
    where (${changed.join(' or ')})${extraWhere}
    returning (xmax = 0) as inserted`;
  const result = (await db.raw(sql, arrays as unknown as Knex.RawBinding[])) as {
    rows: { inserted: boolean }[];
  };
  const added = result.rows.filter((r) => r.inserted).length;
  const updated = result.rows.length - added;
  return { added, updated, existing: records.length - result.rows.length };
}

const opt = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

const USER_COLUMNS: readonly Column<UserRecord>[] = [
  { name: 'key', type: 'text', value: (u) => u.key },
  { name: 'source_key', type: 'text', value: (u) => u.source },
  { name: 'native_id', type: 'text', value: (u) => u.nativeId },
  { name: 'display_name', type: 'text', value: (u) => u.displayName },
  { name: 'handle', type: 'text', value: (u) => opt(u.handle), keepWhenNull: true },
  { name: 'real_name', type: 'text', value: (u) => opt(u.realName), keepWhenNull: true },
  { name: 'email', type: 'text', value: (u) => opt(u.email), keepWhenNull: true },
  { name: 'avatar_url', type: 'text', value: (u) => opt(u.avatarUrl), keepWhenNull: true },
  { name: 'is_bot', type: 'boolean', value: (u) => u.isBot },
  { name: 'is_deleted', type: 'boolean', value: (u) => u.isDeleted },
  { name: 'is_placeholder', type: 'boolean', value: (u) => u.isPlaceholder },
  { name: 'is_admin', type: 'boolean', value: (u) => u.isAdmin },
];

/** A placeholder never overwrites a user the store already knows properly. */
export function upsertUsers(
  db: Knex | Knex.Transaction,
  users: readonly UserRecord[],
  runId: number,
) {
  return upsert(
    db,
    'users',
    USER_COLUMNS,
    dedupeByKey(users),
    runId,
    ' and (users.is_placeholder or not excluded.is_placeholder)',
  );
}

const ROOM_COLUMNS: readonly Column<RoomRecord>[] = [
  { name: 'key', type: 'text', value: (r) => r.key },
  { name: 'source_key', type: 'text', value: (r) => r.source },
  { name: 'native_id', type: 'text', value: (r) => r.nativeId },
  // Name, kind and members of a room several sources describe: its newest source's.
  { name: 'kind', type: 'text', value: (r) => r.kind, insertOnly: true },
  { name: 'name', type: 'text', value: (r) => opt(r.name), insertOnly: true },
  { name: 'topic', type: 'text', value: (r) => opt(r.topic), keepWhenNull: true },
  { name: 'purpose', type: 'text', value: (r) => opt(r.purpose), keepWhenNull: true },
  { name: 'created_at_ms', type: 'bigint', value: (r) => opt(r.createdAt), keepWhenNull: true },
  { name: 'creator', type: 'text', value: (r) => opt(r.creator), keepWhenNull: true },
  { name: 'is_archived', type: 'boolean', value: (r) => r.isArchived },
  { name: 'is_general', type: 'boolean', value: (r) => r.isGeneral },
  { name: 'members', type: 'jsonb', value: (r) => JSON.stringify(r.members), insertOnly: true },
  { name: 'parent', type: 'text', value: (r) => opt(r.parent), keepWhenNull: true },
];

export function upsertRooms(
  db: Knex | Knex.Transaction,
  rooms: readonly RoomRecord[],
  runId: number,
) {
  return upsert(db, 'rooms', ROOM_COLUMNS, dedupeByKey(rooms), runId);
}

const MEDIA_COLUMNS: readonly Column<MediaRecord>[] = [
  { name: 'key', type: 'text', value: (m) => m.key },
  { name: 'source_key', type: 'text', value: (m) => m.source },
  { name: 'native_id', type: 'text', value: (m) => m.nativeId },
  { name: 'availability', type: 'text', value: (m) => m.availability },
  { name: 'name', type: 'text', value: (m) => opt(m.name) },
  { name: 'title', type: 'text', value: (m) => opt(m.title) },
  { name: 'mimetype', type: 'text', value: (m) => opt(m.mimetype) },
  { name: 'size', type: 'bigint', value: (m) => opt(m.size) },
  // An API ingest knows no archive path: it must not erase the export's.
  { name: 'local_path', type: 'text', value: (m) => opt(m.localPath), keepWhenNull: true },
  // Export tokens in URLs change with every export; they are not a content change.
  { name: 'remote_url', type: 'text', value: (m) => opt(m.remoteUrl), compared: false },
  { name: 'width', type: 'integer', value: (m) => opt(m.width) },
  { name: 'height', type: 'integer', value: (m) => opt(m.height) },
  { name: 'mode', type: 'text', value: (m) => opt(m.mode) },
];

export function upsertMedia(
  db: Knex | Knex.Transaction,
  media: readonly MediaRecord[],
  runId: number,
) {
  return upsert(db, 'media', MEDIA_COLUMNS, dedupeByKey(media), runId);
}

const EVENT_COLUMNS: readonly Column<TimelineEvent>[] = [
  { name: 'key', type: 'text', value: (e) => e.key },
  { name: 'room_key', type: 'text', value: (e) => e.room },
  { name: 'order_key', type: 'text', value: (e) => e.order },
  { name: 'ts', type: 'bigint', value: (e) => e.ts },
  { name: 'sender', type: 'text', value: (e) => e.sender },
  { name: 'kind', type: 'text', value: (e) => e.kind },
  { name: 'source_key', type: 'text', value: (e) => e.source, compared: false },
  { name: 'native_id', type: 'text', value: (e) => e.nativeId },
  { name: 'thread_root', type: 'text', value: (e) => opt(e.thread?.root) },
  { name: 'payload', type: 'jsonb', value: (e) => JSON.stringify(eventPayload(e)) },
];

export function upsertEvents(
  db: Knex | Knex.Transaction,
  events: readonly TimelineEvent[],
  runId: number,
) {
  return upsert(db, 'events', EVENT_COLUMNS, dedupeByKey(events), runId);
}

export async function upsertSource(
  db: Knex | Knex.Transaction,
  source: SourceRecord,
): Promise<void> {
  await db.raw(
    `insert into sources (key, kind, name) values (?, ?, ?)
     on conflict (key) do update set name = excluded.name, updated_at = now()`,
    [source.key, source.kind, source.name],
  );
}

/** Within one statement a key may appear once; the last occurrence wins. */
function dedupeByKey<R extends { key: string }>(records: readonly R[]): R[] {
  const byKey = new Map<string, R>();
  for (const r of records) byKey.set(r.key, r);
  return byKey.size === records.length ? [...records] : [...byKey.values()];
}
