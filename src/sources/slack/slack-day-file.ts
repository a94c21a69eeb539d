/**
 * One day file (`<channel>/<YYYY-MM-DD>.json`) → its mapped messages: a function of the file's
 * bytes and a small context; everything it learns about users goes through `SlackUserRefs`.
 */
import { FerryError } from '../../errors.js';
import type { EventKey, RoomKey, SourceItem, SourceKey } from '../../model/index.js';
import { parseJsonEntry } from '../../archive/json-reader.js';
import { obj } from './json-guards.js';
import { slackMessageKey } from './slack-keys.js';
import { slackMessageItems, type SlackBotDirectory, type SlackUserRefs } from './slack-messages.js';
import { slackTsToMicros } from './slack-ts.js';

/** Which day file, of which conversation. */
export interface DayFileJob {
  /** Archive label, for messages. */
  label: string;
  path: string;
  conversationId: string;
  room: RoomKey;
  folder: string;
  /** Report a file that is not a JSON array of messages as `bad` instead of failing. */
  skipBad: boolean;
}

/** What every day file of an export shares. */
export interface DayFileEnv {
  source: SourceKey;
  users: SlackUserRefs;
  directory: SlackBotDirectory;
  /** File ID → archive entry holding its body. */
  localFiles: ReadonlyMap<string, string>;
}

/** The items of one message, and its key when it starts a thread. */
export interface MappedMessage {
  root?: EventKey;
  items: SourceItem[];
}

export type DayFileResult =
  | {
      kind: 'ok';
      /** `ts` of repeated messages (API-derived exports repeat broadcast replies), skipped. */
      duplicates: string[];
      /** In `ts` order; messages without a valid `ts` first (mapped to a skip). */
      messages: MappedMessage[];
    }
  /** Not a JSON array of messages, and `skipBad` was set. */
  | { kind: 'bad'; reason: string };

/**
 * Parses, sorts by `ts`, drops repeated `ts` and maps every message. Throws FerryError
 * (`input_invalid`, naming the entry and position) for a bad file unless `job.skipBad`.
 */
export async function mapDayFile(
  bytes: Buffer,
  job: DayFileJob,
  env: DayFileEnv,
): Promise<DayFileResult> {
  let parsed: unknown;
  try {
    parsed = await parseJsonEntry(bytes, job.label, job.path);
    if (!Array.isArray(parsed)) {
      throw new FerryError(
        'input_invalid',
        `${job.label}: ${job.path} should hold a JSON array of messages`,
      );
    }
  } catch (e) {
    if (job.skipBad && e instanceof FerryError && e.code === 'input_invalid') {
      return { kind: 'bad', reason: e.message };
    }
    throw e;
  }
  const keyed = (parsed as unknown[]).map((message) => ({
    message,
    micros: slackTsToMicros(obj(message)?.ts) ?? -1,
  }));
  keyed.sort((a, b) => a.micros - b.micros);
  const ctx = {
    source: env.source,
    conversationId: job.conversationId,
    room: job.room,
    users: env.users,
    directory: env.directory,
    localFiles: env.localFiles,
    folder: job.folder,
    where: `${job.label}: ${job.path}`,
  };
  const duplicates: string[] = [];
  const messages: MappedMessage[] = [];
  let previous = -2;
  for (const { message, micros } of keyed) {
    if (micros >= 0 && micros === previous) {
      duplicates.push(String(obj(message)?.ts));
      continue;
    }
    previous = micros;
    const m = obj(message);
    const startsThread = m !== undefined && (m.thread_ts === m.ts || m.reply_count !== undefined);
    messages.push({
      root: startsThread ? slackMessageKey(job.conversationId, micros) : undefined,
      items: slackMessageItems(message, ctx),
    });
  }
  return { kind: 'ok', duplicates, messages };
}
