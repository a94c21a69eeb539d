/**
 * Ingest: drains a source adapter's item stream into the store.
 *
 * All of one ingest is one transaction: a failed or interrupted ingest leaves the store as it
 * was (only its `ingest_runs` row records the failure), and a repeated ingest of the same
 * export adds nothing, because every record is upserted by its stable key.
 *
 * Live sources (the Slack Web API) yield `checkpoint` items: each one ends a transaction, which
 * commits the items before it together with the checkpoint's watermark (`onCheckpoint`), and
 * the rest goes on in a new one. An interrupted ingest then keeps what was committed up to its
 * last checkpoint; its `ingest_runs` row stays `running` (killed) or `failed`.
 */
import type { Knex } from 'knex';
import { FerryError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type {
  EventRows,
  MediaRecord,
  RoomRecord,
  SourceItem,
  TimelineEvent,
  UserRecord,
  Watermark,
} from '../model/index.js';
import type { Store } from '../store/store.js';
import {
  addCounts,
  upsertMedia,
  upsertRooms,
  upsertSource,
  upsertUsers,
  zeroCounts,
  type UpsertCounts,
} from '../store/upsert.js';
import { EventCopyWriter, type EncodedEvents } from '../store/event-copy-writer.js';
import { decideRooms } from '../store/room-claims.js';
import { SummaryCounter, type ContentSummary } from './summary.js';

export interface EntityCounts {
  users: number;
  rooms: number;
  events: number;
  files: number;
}

export interface IngestSummary extends ContentSummary {
  run_id: number;
  added: EntityCounts;
  updated: EntityCounts;
  existing: EntityCounts;
}

export interface IngestOptions {
  /** What was ingested, as the user named it (recorded on the run). */
  input: string;
  logger?: Logger;
  /** Called for each progress item of the adapter. */
  onProgress?: (done: number, total: number, unit: 'entries' | 'bytes', label?: string) => void;
  /**
   * Writes a checkpoint's watermark inside the transaction that commits the items before it.
   * Required when the source yields checkpoints.
   */
  onCheckpoint?: (trx: Knex.Transaction, watermark: Watermark) => Promise<void>;
  /** Events per batch statement (default 2000). */
  batchSize?: number;
}

export async function ingest(
  items: AsyncIterable<SourceItem>,
  store: Store,
  options: IngestOptions,
): Promise<IngestSummary> {
  const logger = options.logger ?? silentLogger;
  const [run] = (await store
    .knex('ingest_runs')
    .insert({ input: options.input, status: 'running' })
    .returning('id')) as { id: number }[];
  const runId = Number(run?.id);
  const counter = new SummaryCounter();
  const totals = {
    users: zeroCounts(),
    rooms: zeroCounts(),
    events: zeroCounts(),
    files: zeroCounts(),
  };
  const rooms = new Map<string, RoomRecord>();
  const iterator = items[Symbol.asyncIterator]();
  try {
    // One transaction per segment: the whole ingest, unless the source yields checkpoints.
    for (let more = true; more;) {
      more = await store.knex.transaction((trx) =>
        ingestSegment(trx, iterator, { runId, store, counter, totals, rooms, options }),
      );
    }
  } catch (e) {
    await iterator.return?.(undefined).catch(() => undefined);
    await store
      .knex('ingest_runs')
      .where({ id: runId })
      .update({ status: 'failed', finished_at: store.knex.fn.now() })
      .catch((err: unknown) => logger.warn({ err }, 'could not record the failed run'));
    throw e;
  }
  const summary: IngestSummary = {
    ...counter.finish(),
    run_id: runId,
    added: pick(totals, 'added'),
    updated: pick(totals, 'updated'),
    existing: pick(totals, 'existing'),
  };
  await store
    .knex('ingest_runs')
    .where({ id: runId })
    .update({ status: 'done', finished_at: store.knex.fn.now(), summary: JSON.stringify(summary) });
  logger.info({ run: runId, added: summary.added }, 'ingest finished');
  return summary;
}

interface SegmentContext {
  runId: number;
  store: Store;
  counter: SummaryCounter;
  totals: Record<keyof EntityCounts, UpsertCounts>;
  /** Every room the run read (the last record of each), for `decideRooms` at its end. */
  rooms: Map<string, RoomRecord>;
  options: IngestOptions;
}

/**
 * Drains items into `trx` up to the next checkpoint (whose watermark is written in the same
 * transaction) or the end of the stream. Returns whether items remain.
 */
async function ingestSegment(
  trx: Knex.Transaction,
  iterator: AsyncIterator<SourceItem>,
  { runId, store, counter, totals, rooms, options }: SegmentContext,
): Promise<boolean> {
  const batch = new Batch(
    trx,
    runId,
    totals,
    options.batchSize ?? 5000,
    new EventCopyWriter(trx, runId, store.backend),
  );
  let checkpoint: Watermark | undefined;
  let more = true;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) {
        more = false;
        break;
      }
      const item = next.value;
      counter.add(item);
      if (item.type === 'checkpoint') {
        checkpoint = item.watermark;
        break;
      }
      if (item.type === 'room') rooms.set(item.room.key, item.room);
      await addItem(trx, batch, runId, item, options);
    }
    await batch.flush();
  } finally {
    // Never leave the transaction with a write still running on its connection.
    await batch.drain();
  }
  await batch.finish();
  if (!more) {
    // The run is complete: its rooms' claims, dated by its latest event, decide the rooms.
    const changed = await decideRooms(trx, runId, [...rooms.values()], counter.latestEventTs);
    totals.rooms.updated += changed;
    totals.rooms.existing -= changed;
  }
  if (checkpoint !== undefined) {
    if (options.onCheckpoint === undefined) {
      throw new Error('the source yielded a checkpoint but the ingest has no onCheckpoint');
    }
    await options.onCheckpoint(trx, checkpoint);
  }
  return more;
}

async function addItem(
  trx: Knex.Transaction,
  batch: Batch,
  runId: number,
  item: Exclude<SourceItem, { type: 'checkpoint' }>,
  options: IngestOptions,
): Promise<void> {
  switch (item.type) {
    case 'source':
      await upsertSource(trx, item.source);
      await trx('ingest_runs').where({ id: runId }).update({ source_key: item.source.key });
      break;
    case 'user':
      batch.users.push(item.user);
      break;
    case 'room':
      batch.rooms.push(item.room);
      break;
    case 'media':
      batch.media.push(item.media);
      break;
    case 'event':
      batch.events.push(item.event);
      if (batch.eventCount >= batch.size) await batch.flush();
      break;
    case 'event_rows':
      batch.addRows(item.rows);
      if (batch.eventCount >= batch.size) await batch.flush();
      break;
    case 'skip':
    case 'loss':
      break;
    case 'progress':
      options.onProgress?.(item.done, item.total, item.unit, item.label);
      break;
    default: {
      const never: never = item;
      throw new Error(`unknown item ${JSON.stringify(never)}`);
    }
  }
}

function pick(
  totals: Record<keyof EntityCounts, UpsertCounts>,
  field: keyof UpsertCounts,
): EntityCounts {
  return {
    users: totals.users[field],
    rooms: totals.rooms[field],
    events: totals.events[field],
    files: totals.files[field],
  };
}

/** Encoded batches (one Buffer each, a few MB) that may wait for the store while parsing goes on
 * (4 measured no faster at 1M messages and peaked at 311 MB RSS instead of 272 MB). */
const MAX_QUEUED = 2;

/**
 * Buffers records and writes them in dependency order. One batch is written while the next is
 * being parsed (the store works on its own core meanwhile); at most one write is in flight,
 * since a transaction has one connection.
 */
class Batch {
  users: UserRecord[] = [];
  rooms: RoomRecord[] = [];
  media: MediaRecord[] = [];
  events: TimelineEvent[] = [];
  /** Events already encoded, in order; `events` come after them. */
  private encoded: EncodedEvents[] = [];
  private encodedCount = 0;
  private inflight: Promise<void> = Promise.resolve();
  private readonly pending: Promise<void>[] = [];
  private failure: unknown;

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly runId: number,
    private readonly totals: Record<keyof EntityCounts, UpsertCounts>,
    readonly size: number,
    /** Events are written with COPY (event-copy-writer.ts). */
    private readonly copy: EventCopyWriter,
  ) {}

  get eventCount(): number {
    return this.encodedCount + this.events.length;
  }

  /** Adds events that arrive serialised (keeping their order against `events`). */
  addRows(rows: EventRows): void {
    this.encodeEvents();
    this.encoded.push(this.copy.encodeRows(rows));
    this.encodedCount += rows.count;
  }

  private encodeEvents(): void {
    if (this.events.length === 0) return;
    this.encoded.push(this.copy.encode(this.events));
    this.encodedCount += this.events.length;
    this.events = [];
  }

  /** Merges staged events (PostgreSQL) after the last write. */
  async finish(): Promise<void> {
    await this.settle();
    addCounts(this.totals.events, await this.copy.finish());
  }

  /**
   * Queues what is buffered for writing and returns at once, unless MAX_QUEUED batches already
   * wait: writes run one after another (one connection), parsing goes on meanwhile.
   */
  async flush(): Promise<void> {
    while (this.pending.length >= MAX_QUEUED) await this.pending[0];
    this.throwIfFailed();
    // Encoded now: while queued, the batch holds one buffer instead of the event objects.
    this.encodeEvents();
    const records = {
      users: this.users,
      rooms: this.rooms,
      media: this.media,
      events: EventCopyWriter.concat(this.encoded),
    };
    this.users = [];
    this.rooms = [];
    this.media = [];
    this.encoded = [];
    this.encodedCount = 0;
    // Writes finish in the order they were queued, so the first pending one is the oldest.
    const done = this.inflight
      .then(async () => {
        if (this.failure === undefined) await this.write(records);
      })
      .catch((e: unknown) => {
        this.failure ??= e;
      })
      .finally(() => {
        void this.pending.shift();
      });
    this.pending.push(done);
    this.inflight = done;
  }

  /** Waits for every queued write, whatever its outcome. */
  async drain(): Promise<void> {
    await this.inflight;
  }

  /** Waits for every queued write and rethrows the first failure. */
  async settle(): Promise<void> {
    await this.inflight;
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure === undefined) return;
    const e = this.failure;
    if (e instanceof FerryError) throw e;
    const reason = e instanceof Error ? e.message : JSON.stringify(e);
    throw new FerryError('store_unavailable', `writing to the store failed: ${reason}`, {
      cause: e,
    });
  }

  private async write(r: {
    users: UserRecord[];
    rooms: RoomRecord[];
    media: MediaRecord[];
    events: EncodedEvents;
  }): Promise<void> {
    addCounts(this.totals.users, await upsertUsers(this.trx, r.users, this.runId));
    addCounts(this.totals.rooms, await upsertRooms(this.trx, r.rooms, this.runId));
    addCounts(this.totals.files, await upsertMedia(this.trx, r.media, this.runId));
    addCounts(this.totals.events, await this.copy.write(r.events));
  }
}
