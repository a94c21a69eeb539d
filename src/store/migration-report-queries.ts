/**
 * The per-room and per-month queries behind `ferry report` that `ferry status` has no use for
 * (files by outcome, push timing, messages per month, blocks the converter does not know, the
 * ingest runs' skip counts). Counts that status also shows live in store-counts.ts.
 */
import type { Knex } from 'knex';
import type { RoomKind } from '../model/index.js';

/** Event kinds that are messages someone posted (a file-only Slack message is `file` events). */
export const MESSAGE_KINDS: readonly string[] = ['message', 'file'];

export interface RoomRow {
  key: string;
  source_key: string;
  kind: RoomKind;
  name: string | null;
  parent: string | null;
  alias: string | null;
  room_id: string | null;
  status: 'pending' | 'running' | 'done' | 'failed' | null;
  error: string | null;
  late_events: number;
  push_ms: number;
  started_at: string | null;
  finished_at: string | null;
}

type Timestamp = Date | string | null;
const iso = (t: Timestamp): string | null => (t === null ? null : new Date(t).toISOString());

/** Every stored room with what push recorded of it (null columns: never registered by push). */
export async function roomRows(db: Knex): Promise<RoomRow[]> {
  const rows = (await db('rooms as r')
    .leftJoin('matrix_rooms as m', 'm.room_key', 'r.key')
    .select(
      'r.key',
      'r.source_key',
      'r.kind',
      'r.name',
      'r.parent',
      'm.alias',
      'm.room_id',
      'm.status',
      'm.error',
      'm.late_events',
      'm.push_ms',
      'm.started_at',
      'm.finished_at',
    )
    .orderBy('r.key')) as (Omit<RoomRow, 'started_at' | 'finished_at'> & {
    started_at: Timestamp;
    finished_at: Timestamp;
  })[];
  return rows.map((r) => ({
    ...r,
    late_events: Number(r.late_events ?? 0),
    push_ms: Number(r.push_ms ?? 0),
    started_at: iso(r.started_at),
    finished_at: iso(r.finished_at),
  }));
}

/**
 * How each file event of a room came out, as the writer decides it (content-file.ts):
 * `uploaded` (an mxc URI), `linked` (no upload, but an http(s) URL of an available or external
 * file: posted as a link), `unavailable:<reason>` (a notice), `not_sent` (no sent ledger row).
 */
export async function fileOutcomes(
  db: Knex,
): Promise<{ room_key: string; outcome: string; n: number }[]> {
  const result = (await db.raw(
    `select e.room_key,
            case
              when l.status is distinct from 'sent' then 'not_sent'
              when mm.status = 'uploaded' then 'uploaded'
              when m.remote_url ~* '^\\s*(http|https)://' and m.availability in ('available', 'external')
                then 'linked'
              else 'unavailable:' || coalesce(mm.reason, case when m.key is null then 'no_record'
                   when m.availability = 'available' then 'not_in_export' else m.availability end)
            end as outcome,
            count(*) as n
       from events e
       left join media m on m.key = e.payload->>'media'
       left join matrix_media mm on mm.media_key = m.key
       left join matrix_ledger l on l.event_key = e.key and l.part = 0
      where e.kind = 'file'
      group by 1, 2`,
  )) as { rows: { room_key: string; outcome: string; n: number | string }[] };
  return result.rows.map((r) => ({ ...r, n: Number(r.n) }));
}

/** Message events per calendar month (UTC), `YYYY-MM`, in order; months without any left out. */
export async function messagesPerMonth(db: Knex): Promise<{ month: string; n: number }[]> {
  const result = (await db.raw(
    `select to_char(date_trunc('month', to_timestamp(ts / 1000.0) at time zone 'UTC'), 'YYYY-MM') as month,
            count(*) as n
       from events where kind = any(?::text[])
      group by 1 order by 1`,
    [[...MESSAGE_KINDS]],
  )) as { rows: { month: string; n: number | string }[] };
  return result.rows.map((r) => ({ month: r.month, n: Number(r.n) }));
}

/**
 * Slack messages with a top-level Block Kit block whose type is not in `supported`: the writer
 * shows such a block only as the text it carries. Counted once per message and block type.
 */
export async function unsupportedBlocks(
  db: Knex,
  supported: readonly string[],
): Promise<{ room_key: string; type: string; n: number }[]> {
  const result = (await db.raw(
    `select e.room_key, coalesce(b->>'type', '(no type)') as type, count(distinct e.key) as n
       from events e
       cross join lateral jsonb_array_elements(
         case when jsonb_typeof(e.payload->'content'->'blocks') = 'array'
              then e.payload->'content'->'blocks' else '[]'::jsonb end) as b
      where e.kind = 'message' and e.payload->'content'->>'format' = 'slack-mrkdwn'
        and not coalesce(b->>'type' = any(?::text[]), false)
      group by 1, 2`,
    [[...supported]],
  )) as { rows: { room_key: string; type: string; n: number | string }[] };
  return result.rows.map((r) => ({ ...r, n: Number(r.n) }));
}

/** What an ingest run recorded in its summary that the report needs. */
export interface RunSkips {
  id: number;
  source_key: string;
  input: string;
  skipped: Record<string, number>;
  lost: Record<string, number>;
  undecryptable: Record<string, Record<string, number>>;
}

/**
 * The latest finished ingest run of each source. Skips are counted by the ingest that saw them
 * and not stored per event, so these are the report's skip figures: an export's newest ingest
 * describes the whole export (a re-run repeats, not adds, its skips).
 */
export async function latestRunSkips(db: Knex): Promise<RunSkips[]> {
  const rows = (await db('ingest_runs as r')
    .where('r.status', 'done')
    .whereNotNull('r.source_key')
    .whereNotExists((q) => {
      void q
        .select(db.raw('1'))
        .from('ingest_runs as n')
        .whereRaw('n.source_key = r.source_key')
        .andWhere('n.status', 'done')
        .andWhereRaw('n.id > r.id');
    })
    .select('r.id', 'r.source_key', 'r.input', 'r.summary')
    .orderBy('r.id')) as { id: number; source_key: string; input: string; summary: unknown }[];
  return rows.map((r) => {
    const s = summaryObject(r.summary);
    return {
      id: Number(r.id),
      source_key: r.source_key,
      input: r.input,
      skipped: numbers(s.skipped),
      lost: numbers(s.lost),
      undecryptable: Object.fromEntries(
        Object.entries(objectOf(s.undecryptable)).map(([room, why]) => [room, numbers(why)]),
      ),
    };
  });
}

function summaryObject(raw: unknown): Record<string, unknown> {
  return objectOf(typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw);
}

function objectOf(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function numbers(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(objectOf(v))) if (typeof n === 'number') out[k] = n;
  return out;
}
