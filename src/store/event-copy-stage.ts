/**
 * The PostgreSQL fast path for events: batches are streamed with `COPY` into a temporary
 * staging table inside the ingest's transaction, then merged into `events` by one
 * `INSERT … SELECT … ON CONFLICT` statement, which keeps the added / updated / existing counts
 * of the unnest path (src/store/upsert.ts). PGlite keeps the unnest path.
 */
import { once } from 'node:events';
import type { Knex } from 'knex';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { TimelineEvent } from '../model/index.js';
import { eventPayload } from './event-payload.js';
import type { UpsertCounts } from './upsert.js';

/** Columns of `events` filled from a model event, in COPY order. */
export const EVENT_COPY_COLUMNS = [
  'key',
  'room_key',
  'order_key',
  'ts',
  'sender',
  'kind',
  'source_key',
  'native_id',
  'thread_root',
  'payload',
] as const;
/** Columns whose change makes a stored event count as updated (as in upsert.ts). */
const COMPARED = [
  'room_key',
  'order_key',
  'ts',
  'sender',
  'kind',
  'native_id',
  'thread_root',
  'payload',
] as const;

/** COPY text format: backslash, tab, newline and carriage return escaped; `\N` is null. */
/** The values of EVENT_COPY_COLUMNS for one event. */
export function eventCopyValues(e: TimelineEvent): (string | number | null)[] {
  return [
    e.key,
    e.room,
    e.order,
    e.ts,
    e.sender,
    e.kind,
    e.source,
    e.nativeId,
    e.thread?.root ?? null,
    JSON.stringify(eventPayload(e)),
  ];
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;

export function copyTextField(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value
    .replace(/\\/g, '\\\\')
    .replace(/\t/g, '\\t')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r');
}

export class EventCopyStage {
  private created = false;
  private seq = 0;
  /** Events staged since the last merge. */
  staged = 0;

  constructor(private readonly trx: Knex.Transaction) {}

  async add(events: readonly TimelineEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (!this.created) {
      await this.trx.raw(`
        create temp table ferry_event_stage (
          key text, room_key text, order_key text collate "C", ts bigint, sender text, kind text,
          source_key text, native_id text, thread_root text, payload jsonb, seq integer
        ) on commit drop`);
      this.created = true;
    }
    this.staged += events.length;
    const lines: string[] = [];
    for (const e of events) {
      this.seq += 1;
      lines.push([...eventCopyValues(e), this.seq].map(copyTextField).join('\t'));
    }
    // Inside a transaction knex hands out the transaction's own connection.
    const client = this.trx.client as { acquireConnection(): Promise<unknown> };
    const connection = (await client.acquireConnection()) as pg.PoolClient;
    const stream = connection.query(
      copyFrom(`copy ferry_event_stage (${EVENT_COPY_COLUMNS.join(', ')}, seq) from stdin`),
    );
    const done = once(stream, 'finish');
    stream.end(`${lines.join('\n')}\n`);
    await done;
  }

  /** Merges the staged events into `events` (the last copy of a key wins) and empties the stage. */
  async merge(runId: number): Promise<UpsertCounts> {
    if (!this.created) return { added: 0, updated: 0, existing: 0 };
    const cols = EVENT_COPY_COLUMNS.join(', ');
    const changed = COMPARED.map((c) => `events.${c} is distinct from excluded.${c}`).join(' or ');
    const sets = COMPARED.map((c) => `${c} = excluded.${c}`).join(', ');
    const result = (await this.trx.raw(`
      with staged as (
        select distinct on (key) ${cols} from ferry_event_stage order by key, seq desc
      ), written as (
        insert into events (${cols}, first_run, last_changed_run)
        select ${cols}, ${runId}, ${runId} from staged order by room_key, order_key
        on conflict (key) do update set ${sets}, last_changed_run = ${runId}
        where ${changed}
        returning (xmax = 0) as inserted
      )
      select (select count(*) from staged) as total,
             count(*) filter (where inserted) as added,
             count(*) filter (where not inserted) as updated
      from written`)) as {
      rows: { total: string | number; added: string | number; updated: string | number }[];
    };
    await this.trx.raw('truncate ferry_event_stage');
    this.staged = 0;
    const row = result.rows[0];
    const total = Number(row?.total ?? 0);
    const added = Number(row?.added ?? 0);
    const updated = Number(row?.updated ?? 0);
    return { added, updated, existing: total - added - updated };
  }
}
