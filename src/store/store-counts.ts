/**
 * The counting queries that `ferry status` and `ferry report` share, so their numbers are the
 * same by construction: each runs either over the whole store (`'total'`) or grouped by room
 * (`'room'`), with the same filters. A room's figures therefore add up to the status totals.
 *
 * Ledger counts are of part 0 only: one per model event, however many Matrix events it became.
 */
import type { Knex } from 'knex';

export type CountScope = 'total' | 'room';

/** `room_key` is null for `'total'`. */
export interface EventKindCount {
  room_key: string | null;
  kind: string;
  n: number;
}

export interface LedgerCount {
  room_key: string | null;
  status: 'pending' | 'sent' | 'skipped';
  /** Why a skipped event was not sent (the writer's note); null for other statuses. */
  note: string | null;
  n: number;
}

export interface RoomCount {
  room_key: string | null;
  n: number;
}

type Raw = Record<string, string | number | null | undefined> & { n: number | string };

const roomOf = (r: Raw): string | null => (r.room_key === undefined ? null : String(r.room_key));

/** Stored events by model kind. */
export async function eventKindCounts(db: Knex, scope: CountScope): Promise<EventKindCount[]> {
  const cols = scope === 'room' ? ['room_key', 'kind'] : ['kind'];
  const rows = (await db('events')
    .select(cols)
    .count({ n: '*' })
    .groupBy(cols)
    .orderBy(cols)) as Raw[];
  return rows.map((r) => ({ room_key: roomOf(r), kind: String(r.kind), n: Number(r.n) }));
}

/** Ledger rows (part 0) by status, and by note for skipped ones. */
export async function ledgerCounts(db: Knex, scope: CountScope): Promise<LedgerCount[]> {
  const cols = scope === 'room' ? ['room_key', 'status'] : ['status'];
  const note = db.raw(`case when status = 'skipped' then note end as note`);
  const rows = (await db('matrix_ledger')
    .where('part', 0)
    .select([...cols, note])
    .count({ n: '*' })
    .groupBy([...cols, db.raw(`case when status = 'skipped' then note end`)])) as Raw[];
  return rows.map((r) => ({
    room_key: roomOf(r),
    status: r.status as LedgerCount['status'],
    note: r.note === null || r.note === undefined ? null : String(r.note),
    n: Number(r.n),
  }));
}

/** Store events with no ledger row yet (to send, or late). */
export async function unpushedCounts(db: Knex, scope: CountScope): Promise<RoomCount[]> {
  const cols = scope === 'room' ? 'e.room_key,' : '';
  const group = scope === 'room' ? 'group by e.room_key' : '';
  const result = (await db.raw(
    `select ${cols} count(*) as n from events e
      where not exists (select 1 from matrix_ledger l where l.event_key = e.key and l.part = 0)
      ${group}`,
  )) as { rows: Raw[] };
  return result.rows.map((r) => ({ room_key: roomOf(r), n: Number(r.n) }));
}

/** Adds up counts by a key (rows of one scope). */
export function sumBy<T extends { n: number }>(
  rows: readonly T[],
  key: (row: T) => string | null,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) {
    const k = key(r);
    if (k !== null) out[k] = (out[k] ?? 0) + r.n;
  }
  return out;
}
