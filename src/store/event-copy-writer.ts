/**
 * How an ingest writes events: with `COPY` (both backends), in one of two modes.
 *
 * - **direct** (the start of every ingest): each batch is copied straight into `events` inside
 *   a savepoint. This is the whole cost of a first import — the same as a bare bulk load — and
 *   is exact as long as every event is new: each row counts as added.
 * - **staged**: the first batch that meets a key already in `events` (a re-run, an incremental
 *   export, an overlapping merge, a key repeated inside the export) fails with a unique
 *   violation; it is rolled back to its savepoint and the writer switches, for the rest of the
 *   ingest, to the staging table (event-copy-stage.ts), whose merge upserts and counts added /
 *   updated / existing exactly like the unnest path. Rows already copied directly stay: the
 *   merge treats them as stored rows.
 *
 * Either way the result equals upserting every event in order, so callers cannot tell the
 * modes apart except by speed. (src/store/upsert.ts keeps the unnest upsert for the other
 * records and for callers outside an ingest.)
 */
import type { Knex } from 'knex';
import type { EventRows, TimelineEvent } from '../model/index.js';
import { EVENT_COPY_COLUMNS, eventCopyLine } from '../model/event-copy-row.js';
import { EventCopyStage } from './event-copy-stage.js';
import { withRunColumns } from './event-rows.js';
import { copyLines } from './pg-copy.js';
import type { StoreBackend } from './store.js';
import { zeroCounts, type UpsertCounts } from './upsert.js';

/** Staged events merged into `events` at a time. */
const MERGE_EVERY = 50_000;
const SAVEPOINT = 'ferry_event_copy';
const DIRECT_TARGET = `events (${EVENT_COPY_COLUMNS.join(', ')}, first_run, last_changed_run)`;

export type EventCopyMode = 'direct' | 'staged';

/**
 * A batch of events as COPY lines of `events` (run columns included), UTF-8. Encoding when a
 * batch is queued, rather than when it is written, lets the event objects (and the parsed export
 * they point into) go while the batch waits: a queued batch is one buffer, outside the JS heap.
 */
export interface EncodedEvents {
  data: Buffer;
  count: number;
}

export class EventCopyWriter {
  private current: EventCopyMode = 'direct';
  private readonly stage: EventCopyStage;

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly runId: number,
    private readonly backend: StoreBackend,
  ) {
    this.stage = new EventCopyStage(trx, backend);
  }

  get mode(): EventCopyMode {
    return this.current;
  }

  encode(events: readonly TimelineEvent[]): EncodedEvents {
    const tail = `\t${this.runId}\t${this.runId}`;
    let text = '';
    for (const e of events) text += eventCopyLine(e, tail);
    return { data: Buffer.from(text, 'utf8'), count: events.length };
  }

  /** Completes rows serialised elsewhere (src/store/event-rows.ts) with this run's columns. */
  encodeRows(rows: EventRows): EncodedEvents {
    return { data: withRunColumns(rows.data, this.runId), count: rows.count };
  }

  /** One batch of several, in order. */
  static concat(parts: readonly EncodedEvents[]): EncodedEvents {
    if (parts.length === 1) return parts[0] as EncodedEvents;
    let count = 0;
    for (const p of parts) count += p.count;
    return { data: Buffer.concat(parts.map((p) => p.data)), count };
  }

  /** Writes one batch; returns the counts settled by this call (staged rows count when merged). */
  async write(encoded: EncodedEvents): Promise<UpsertCounts> {
    if (encoded.count === 0) return zeroCounts();
    if (this.current === 'direct') {
      const added = await this.tryDirect(encoded.data);
      if (added !== undefined) return { added, updated: 0, existing: 0 };
      this.current = 'staged';
    }
    await this.stage.add(encoded.data, encoded.count);
    // Merging in slices keeps the server busy while the next batches are parsed.
    return this.stage.staged >= MERGE_EVERY ? this.stage.merge(this.runId) : zeroCounts();
  }

  /** Merges what is still staged. */
  finish(): Promise<UpsertCounts> {
    return this.stage.merge(this.runId);
  }

  /** Rows copied, or undefined when a key is already stored (nothing of the batch is kept). */
  private async tryDirect(data: Buffer): Promise<number | undefined> {
    await this.trx.raw(`savepoint ${SAVEPOINT}`);
    try {
      const rows = await copyLines(this.trx, this.backend, DIRECT_TARGET, data);
      await this.trx.raw(`release savepoint ${SAVEPOINT}`);
      return rows;
    } catch (e) {
      if (!isDuplicateEventKey(e)) throw e;
      await this.trx.raw(`rollback to savepoint ${SAVEPOINT}`);
      return undefined;
    }
  }
}

/** A unique violation of the events primary key (`key`); other violations are real errors. */
function isDuplicateEventKey(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { code, constraint } = e as { code?: unknown; constraint?: unknown };
  return code === '23505' && constraint === 'events_pkey';
}
