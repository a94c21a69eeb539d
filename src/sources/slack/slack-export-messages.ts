/**
 * The messages of a Slack export: conversation by conversation, day file by day file, in
 * export order. Day files are read and inflated ahead (libuv's thread pool) and, with workers,
 * mapped ahead (day-file-pool.ts); results are taken in order on this thread, so the items come
 * out in the same order whichever path mapped them.
 */
import type { ArchiveReader } from '../../archive/archive.js';
import { readAhead } from '../../archive/read-ahead.js';
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import type { EventKey, RoomKey, SourceItem } from '../../model/index.js';
import { dayFileOutput, type DayFileOutput } from './day-file-output.js';
import type { DayFilePool, WorkerDayFile } from './day-file-pool.js';
import { mapDayFile, type DayFileEnv, type DayFileJob } from './slack-day-file.js';
import { replayUserCalls } from './slack-user-calls.js';
import type { SlackPlaceholderCollector } from './slack-users.js';

/** A conversation an index file lists: its ID, its folder in the export, its room. */
export interface ListedConversation {
  id: string;
  folder: string;
  room: RoomKey;
}

export interface MessageItemsContext {
  env: DayFileEnv;
  placeholders: SlackPlaceholderCollector;
  pool: DayFilePool | undefined;
}

export interface MessageItemsOptions {
  logger?: Logger;
  skipBadFiles?: boolean;
}

/** A day file read ahead: its bytes (mapped on this thread) or what a worker made of it. */
type DayFileStep = { kind: 'bytes'; bytes: Buffer } | WorkerDayFile;

type DayFileResult = { kind: 'ok'; output: DayFileOutput } | { kind: 'bad'; reason: string };

export async function* messageItems(
  reader: ArchiveReader,
  options: MessageItemsOptions,
  conversations: readonly ListedConversation[],
  dayFiles: ReadonlyMap<string, string[]>,
  ctx: MessageItemsContext,
): AsyncGenerator<SourceItem> {
  const jobs: DayFileJob[] = conversations.flatMap((c) =>
    (dayFiles.get(c.folder) ?? []).map((path) => ({
      label: reader.label,
      path,
      conversationId: c.id,
      room: c.room,
      folder: c.folder,
      skipBad: options.skipBadFiles === true,
    })),
  );
  const inflight = new Set<Promise<Buffer>>();
  const reads = startReads(reader, jobs, ctx.pool, inflight);
  const progress = { done: 0, total: jobs.length };
  try {
    for (const conversation of conversations) {
      const files = dayFiles.get(conversation.folder)?.length ?? 0;
      yield* conversationItems(reader.label, options, conversation, files, reads, ctx, progress);
    }
  } finally {
    // Stopped early (an error, or the consumer stopped): let the reads already started finish
    // before the caller closes the archive; no new ones start.
    await Promise.allSettled([...inflight]);
  }
}

/** Reads (and, with a pool, maps) day files ahead of the consumer, in job order. */
function startReads(
  reader: ArchiveReader,
  jobs: DayFileJob[],
  pool: DayFilePool | undefined,
  inflight: Set<Promise<Buffer>>,
): Iterator<[DayFileJob, Promise<DayFileStep>]> {
  let posted: Promise<unknown> = Promise.resolve();
  return readAhead(
    jobs,
    (job): Promise<DayFileStep> => {
      const reading = reader.readBuffer(job.path);
      inflight.add(reading);
      reading.then(
        () => inflight.delete(reading),
        () => inflight.delete(reading),
      );
      if (pool === undefined) return reading.then((bytes) => ({ kind: 'bytes', bytes }));
      // Handed to the workers in export order, whatever order the reads finish in.
      let mapping: Promise<WorkerDayFile> | undefined;
      const post = posted.then(async () => {
        mapping = pool.run(job, await reading);
      });
      posted = post.catch(() => undefined);
      return post.then(() => mapping as Promise<WorkerDayFile>);
    },
    pool === undefined ? 2 : 2 * pool.size + 2,
  );
}

/** One conversation's day files, then one loss for its replies whose thread root is missing. */
async function* conversationItems(
  label: string,
  options: MessageItemsOptions,
  conversation: ListedConversation,
  files: number,
  reads: Iterator<[DayFileJob, Promise<DayFileStep>]>,
  ctx: MessageItemsContext,
  progress: { done: number; total: number },
): AsyncGenerator<SourceItem> {
  const logger = options.logger ?? silentLogger;
  const threadRoots = new Set<EventKey>();
  let orphans = 0;
  for (let f = 0; f < files; f++) {
    const next = reads.next();
    if (next.done === true) break;
    const [job, pending] = next.value;
    const result = await mappedDayFile(await pending, job, ctx);
    progress.done += 1;
    if (result.kind === 'bad') {
      logger.warn({ entry: job.path, reason: result.reason }, 'skipping a bad day file');
      yield { type: 'skip', reason: 'bad_file', where: `${label}: ${job.path}` };
      continue;
    }
    const { duplicates, items, roots, openReplies } = result.output;
    for (const ts of duplicates) {
      yield { type: 'skip', reason: 'duplicate', where: `${label}: ${job.path} ts=${ts}` };
    }
    for (const root of openReplies) if (!threadRoots.has(root)) orphans += 1;
    for (const root of roots) threadRoots.add(root);
    yield* items;
    const { done, total } = progress;
    yield { type: 'progress', done, total, unit: 'entries', label: job.path };
  }
  if (orphans > 0) {
    const where = `${label}: ${conversation.folder}`;
    yield { type: 'loss', reason: 'thread_root_missing', where, count: orphans };
  }
}

async function mappedDayFile(
  step: DayFileStep,
  job: DayFileJob,
  ctx: MessageItemsContext,
): Promise<DayFileResult> {
  switch (step.kind) {
    case 'bytes': {
      const result = await mapDayFile(step.bytes, job, ctx.env);
      if (result.kind === 'bad') return result;
      return { kind: 'ok', output: dayFileOutput(result.duplicates, result.messages, false) };
    }
    case 'ok':
      replayUserCalls(step.userCalls, ctx.placeholders);
      return step;
    case 'bad':
      return step;
  }
}
