/**
 * The staging table of the COPY event path: batches are streamed with `COPY` into a
 * temporary table inside the ingest's transaction, then merged into `events` by one
 * `INSERT … SELECT … ON CONFLICT` statement, which keeps the added / updated / existing counts
 * of the unnest path (src/store/upsert.ts). Used once an ingest meets events that are already
 * stored (event-copy-writer.ts decides).
 */
import type { Knex } from 'knex';
import { EVENT_COPY_COLUMNS } from '../model/event-copy-row.js';
import { copyLines } from './pg-copy.js';
import type { StoreBackend } from './store.js';
import type { UpsertCounts } from './upsert.js';

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

/**
 * The stage takes the same COPY lines as `events` (run columns included, ignored by the merge);
 * `seq` numbers the rows in the order they were copied, so that the last copy of a key wins.
 */
export class EventCopyStage {
  private created = false;
  /** Events staged since the last merge. */
  staged = 0;

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly backend: StoreBackend,
  ) {}

  /** Stages `count` events given as COPY lines of `events` (see event-copy-writer.ts). */
  async add(data: Buffer, count: number): Promise<void> {
    if (count === 0) return;
    if (!this.created) {
      await this.trx.raw(`
        create temp table ferry_event_stage (
          key text, room_key text, order_key text collate "C", ts bigint, sender text, kind text,
          source_key text, native_id text, thread_root text, payload jsonb,
          first_run bigint, last_changed_run bigint, seq bigserial
        ) on commit drop`);
      this.created = true;
    }
    this.staged += count;
    await copyLines(
      this.trx,
      this.backend,
      `ferry_event_stage (${EVENT_COPY_COLUMNS.join(', ')}, first_run, last_changed_run)`,
      data,
    );
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
