/**
 * One measured run of the ingest benchmark, in its own process so that peak RSS
 * (`process.resourceUsage().maxRSS`) belongs to that run alone. Started by ingest-bench.ts;
 * prints one `BENCH_RESULT {json}` line on stdout.
 *
 *   ingest --zip Z (--data-dir D | --database-url U) [--batch-size N] [--workers N]
 *       the real thing: openStore + ingest(slackExportItems(Z, {workers}), store)
 *   open (--data-dir D | --database-url U)
 *       creates and migrates the store, then closes it (so that a later ingest reopens it)
 *   dump --zip Z --out T
 *       runs the adapter alone and writes the `events` rows the ingest would write as a
 *       COPY text-format file (memory-bounded, written as the adapter streams)
 *   store --tsv T (--data-dir D | --database-url U) [--batch-size N]
 *       the store half of an ingest alone: rebuilds the events from T (eventFromRow) and
 *       writes them with the ingest's EventCopyWriter in batches inside one transaction; `ms`
 *       counts only the writer calls (COPY line formatting, the COPY itself, server time)
 *   copy --tsv T (--data-dir D | --database-url U)
 *       migrates a fresh store, then bulk-loads T into `events` with COPY … FROM STDIN
 *       (PostgreSQL, pg-copy-streams) or COPY … FROM '/dev/blob' in chunks (PGlite)
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ingest } from '../src/ingest/ingest.js';
import type { TimelineEvent } from '../src/model/index.js';
import { slackExportItems } from '../src/sources/slack/index.js';
import { eventFromRow } from '../src/model/event-payload.js';
import { EventCopyWriter } from '../src/store/event-copy-writer.js';
import { eventCopyLine, EVENT_COPY_COLUMNS as ROW_COLUMNS } from '../src/model/event-copy-row.js';
import { createInterface } from 'node:readline';
import { openStore, type StoreOptions } from '../src/store/store.js';

/** Columns of `events`, in COPY order: the ingest's own list plus the run columns. */
const EVENT_COPY_COLUMNS = [...ROW_COLUMNS, 'first_run', 'last_changed_run'] as const;

const COPY_SQL_COLUMNS = EVENT_COPY_COLUMNS.join(', ');

export interface ChildResult {
  mode: 'ingest' | 'dump' | 'copy' | 'open' | 'store';
  /** Wall time of the measured part (ingest call, adapter pass, COPY). */
  ms: number;
  /** Time to open (and migrate) the store, not part of `ms`. */
  openMs?: number;
  /** CPU time (user + system, all threads) of the child process over its whole life. */
  cpuMs?: number;
  /** Peak RSS in bytes over the whole child process. */
  maxRssBytes: number;
  /** Peak RSS right after the store was opened (before the measured part). */
  maxRssAfterOpenBytes?: number;
  events?: number;
  rows?: number;
  summary?: unknown;
  eventKinds?: Record<string, number>;
  tsvBytes?: number;
}

const maxRss = () => process.resourceUsage().maxRSS * 1024;

function storeOptions(values: { 'data-dir'?: string; 'database-url'?: string }): StoreOptions {
  if (values['database-url'] !== undefined) return { databaseUrl: values['database-url'] };
  if (values['data-dir'] !== undefined) return { dataDir: values['data-dir'] };
  throw new Error('--data-dir or --database-url is required');
}

async function runIngest(
  zip: string,
  options: StoreOptions,
  batchSize?: number,
  workers = 0,
): Promise<ChildResult> {
  const t0 = performance.now();
  const store = await openStore(options);
  const openMs = performance.now() - t0;
  const rssAfterOpen = maxRss();
  try {
    const t1 = performance.now();
    const summary = await ingest(slackExportItems(zip, { workers }), store, {
      input: zip,
      batchSize,
    });
    const ms = performance.now() - t1;
    return {
      mode: 'ingest',
      ms,
      openMs,
      maxRssBytes: maxRss(),
      maxRssAfterOpenBytes: rssAfterOpen,
      events: summary.added.events + summary.updated.events,
      summary,
    };
  } finally {
    await store.close();
  }
}

/** The line the ingest's direct COPY writes (src/store/event-copy-row.ts), run id 1. */
const copyRow = (e: TimelineEvent): string => eventCopyLine(e, '\t1\t1');

async function runDump(zip: string, out: string): Promise<ChildResult> {
  const file = createWriteStream(out);
  const kinds: Record<string, number> = {};
  let rows = 0;
  let bytes = 0;
  let chunk: string[] = [];
  let chunkLength = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    const data = chunk.join('');
    chunk = [];
    chunkLength = 0;
    bytes += Buffer.byteLength(data);
    if (!file.write(data)) await once(file, 'drain');
  };
  const t0 = performance.now();
  for await (const item of slackExportItems(zip)) {
    if (item.type !== 'event') continue;
    rows += 1;
    kinds[item.event.kind] = (kinds[item.event.kind] ?? 0) + 1;
    const row = copyRow(item.event);
    chunk.push(row);
    chunkLength += row.length;
    if (chunkLength > 1 << 20) await flush();
  }
  await flush();
  file.end();
  await once(file, 'close');
  const ms = performance.now() - t0;
  return { mode: 'dump', ms, maxRssBytes: maxRss(), rows, eventKinds: kinds, tsvBytes: bytes };
}

const unescapeCopy = (s: string): string | null =>
  s === '\\N'
    ? null
    : s.replace(/\\(.)/g, (_, c: string) =>
        c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c,
      );

async function runStoreHalf(
  tsv: string,
  options: StoreOptions,
  batchSize = 5000,
): Promise<ChildResult> {
  const t0 = performance.now();
  const store = await openStore(options);
  const openMs = performance.now() - t0;
  const rssAfterOpen = maxRss();
  let ms = 0;
  let rows = 0;
  try {
    await store.knex.transaction(async (trx) => {
      const writer = new EventCopyWriter(trx, 1, store.backend);
      let batch: TimelineEvent[] = [];
      const flush = async () => {
        const t = performance.now();
        await writer.write(writer.encode(batch));
        ms += performance.now() - t;
        rows += batch.length;
        batch = [];
      };
      const lines = createInterface({ input: createReadStream(tsv), crlfDelay: Infinity });
      for await (const line of lines) {
        const f = line.split('\t').map(unescapeCopy);
        batch.push(
          eventFromRow({
            key: f[0]!,
            room_key: f[1]!,
            order_key: f[2]!,
            ts: Number(f[3]),
            sender: f[4]!,
            kind: f[5]!,
            source_key: f[6]!,
            native_id: f[7]!,
            payload: JSON.parse(f[9]!) as Record<string, unknown>,
          }),
        );
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      const t = performance.now();
      await writer.finish();
      ms += performance.now() - t;
    });
  } finally {
    await store.close();
  }
  return {
    mode: 'store',
    ms,
    openMs,
    maxRssBytes: maxRss(),
    maxRssAfterOpenBytes: rssAfterOpen,
    rows,
  };
}

async function runCopy(tsv: string, options: StoreOptions): Promise<ChildResult> {
  const t0 = performance.now();
  const store = await openStore(options); // fresh database: runs the real migrations
  await store.close();
  if (options.databaseUrl !== undefined) {
    const client = new pg.Client({ connectionString: options.databaseUrl });
    await client.connect();
    const openMs = performance.now() - t0;
    const rssAfterOpen = maxRss();
    try {
      const t1 = performance.now();
      const copy = client.query(copyFrom(`copy events (${COPY_SQL_COLUMNS}) from stdin`));
      await pipeline(createReadStream(tsv, { highWaterMark: 1 << 20 }), copy);
      const ms = performance.now() - t1;
      return {
        mode: 'copy',
        ms,
        openMs,
        maxRssBytes: maxRss(),
        maxRssAfterOpenBytes: rssAfterOpen,
        rows: copy.rowCount,
      };
    } finally {
      await client.end();
    }
  }
  // PGlite: COPY reads from a virtual /dev/blob; feed it line-aligned chunks of the file.
  // Imported here so that the PostgreSQL runs do not pay for loading PGlite.
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(options.dataDir ?? '');
  const openMs = performance.now() - t0;
  const rssAfterOpen = maxRss();
  try {
    const t1 = performance.now();
    let rows = 0;
    const sql = `copy events (${COPY_SQL_COLUMNS}) from '/dev/blob'`;
    const load = async (data: Buffer) => {
      const result = await db.query(sql, [], { blob: new Blob([data]) });
      rows += result.affectedRows ?? 0;
    };
    await db.exec('begin');
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const piece of createReadStream(tsv, {
      highWaterMark: 1 << 20,
    }) as AsyncIterable<Buffer>) {
      pending.push(piece);
      pendingBytes += piece.length;
      if (pendingBytes < 32 << 20) continue;
      const all = Buffer.concat(pending);
      const cut = all.lastIndexOf(10) + 1;
      await load(all.subarray(0, cut));
      pending = [all.subarray(cut)];
      pendingBytes = all.length - cut;
    }
    if (pendingBytes > 0) await load(Buffer.concat(pending));
    await db.exec('commit');
    const ms = performance.now() - t1;
    return {
      mode: 'copy',
      ms,
      openMs,
      maxRssBytes: maxRss(),
      maxRssAfterOpenBytes: rssAfterOpen,
      rows,
    };
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      zip: { type: 'string' },
      out: { type: 'string' },
      tsv: { type: 'string' },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
      'batch-size': { type: 'string' },
      workers: { type: 'string', default: '0' },
    },
  });
  const mode = positionals[0];
  let result: ChildResult;
  if (mode === 'ingest' && values.zip !== undefined) {
    const batch = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
    result = await runIngest(values.zip, storeOptions(values), batch, Number(values.workers));
  } else if (mode === 'store' && values.tsv !== undefined) {
    const batch = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
    result = await runStoreHalf(values.tsv, storeOptions(values), batch);
  } else if (mode === 'open') {
    const t0 = performance.now();
    const store = await openStore(storeOptions(values));
    await store.close();
    result = { mode, ms: performance.now() - t0, maxRssBytes: maxRss() };
  } else if (mode === 'dump' && values.zip !== undefined && values.out !== undefined) {
    result = await runDump(values.zip, values.out);
  } else if (mode === 'copy' && values.tsv !== undefined) {
    result = await runCopy(values.tsv, storeOptions(values));
  } else {
    throw new Error(
      `usage: bench-child.ts ingest|open|store|dump|copy … (got ${process.argv.slice(2).join(' ')})`,
    );
  }
  const cpu = process.cpuUsage();
  result.cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
