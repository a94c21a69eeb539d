/**
 * Reading JSON from export entries with errors a user can act on: the archive, the entry and
 * the position are always named.
 */
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { verifier } from 'stream-json/utils/verifier.js';
import { FerryError } from '../errors.js';
import type { ArchiveReader } from './archive.js';

/** Parses a whole entry (small files: Slack day files, index files). */
export async function parseJsonEntry(
  bytes: Buffer,
  archive: string,
  entry: string,
): Promise<unknown> {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown;
  } catch (e) {
    throw new FerryError(
      'input_invalid',
      `${archive}: ${entry} is not valid JSON (${await describeJsonError(e, text)})`,
      { cause: e },
    );
  }
}

/** JSON.parse does not always say where; stream-json's verifier does (line and column). */
async function describeJsonError(e: unknown, text: string): Promise<string> {
  const located = await new Promise<{ line: number; pos: number; message: string } | undefined>(
    (resolve) => {
      const check = verifier.asStream();
      check.on('error', (err: Error & { line?: number; pos?: number }) =>
        resolve(
          err.line === undefined
            ? undefined
            : { line: err.line, pos: err.pos ?? 0, message: err.message },
        ),
      );
      check.on('finish', () => resolve(undefined));
      check.resume();
      check.end(text);
    },
  );
  if (located !== undefined) {
    const reason = located.message
      .replace(/^ERROR at \d+ \(\d+, \d+\): /, '')
      .replace(/^Verifier (cannot parse input: |has )/, '');
    return `line ${located.line}, column ${located.pos}: ${reason}`;
  }
  return e instanceof Error ? e.message.slice(0, 200) : String(e);
}

/**
 * Streams the elements of a top-level JSON array without holding the document (large
 * users.json, Element exports). Throws FerryError naming the entry on malformed input.
 */
export async function* streamJsonArray(
  input: NodeJS.ReadableStream,
  archive: string,
  entry: string,
): AsyncGenerator<unknown> {
  const pipeline = streamArray.withParserAsStream();
  const source = input as NodeJS.ReadableStream & { destroy?: () => void };
  source.on('error', (e: unknown) =>
    pipeline.destroy(e instanceof Error ? e : new Error(String(e))),
  );
  source.pipe(pipeline);
  try {
    for await (const item of pipeline as AsyncIterable<{ key: number; value: unknown }>) {
      yield item.value;
    }
  } catch (e) {
    if (e instanceof FerryError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw new FerryError(
      'input_invalid',
      `${archive}: ${entry} is not a valid JSON array (${message})`,
      {
        cause: e,
      },
    );
  } finally {
    source.destroy?.();
    pipeline.destroy();
  }
}

/** Entries up to this size are parsed whole: JSON.parse is an order of magnitude faster. */
const PARSE_WHOLE_MAX = 32 << 20;

/**
 * The elements of an entry holding one JSON array (users.json, channels.json, …): parsed whole
 * when small, streamed (memory-bounded) when large. Errors name the entry either way.
 */
export async function* jsonArrayEntry(
  reader: ArchiveReader,
  path: string,
  parseWholeMax = PARSE_WHOLE_MAX,
): AsyncGenerator<unknown> {
  const size = reader.entries().find((e) => e.path === path)?.size;
  if (size === undefined || size > parseWholeMax) {
    yield* streamJsonArray(await reader.openStream(path), reader.label, path);
    return;
  }
  const parsed = await parseJsonEntry(await reader.readBuffer(path), reader.label, path);
  if (!Array.isArray(parsed)) {
    throw new FerryError(
      'input_invalid',
      `${reader.label}: ${path} is not a valid JSON array (its top-level value is not an array)`,
    );
  }
  yield* parsed as unknown[];
}
