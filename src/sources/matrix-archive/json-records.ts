/**
 * Streams the records of a JSON input whatever its framing: one array (osteele export,
 * `mongoexport --jsonArray`), arrays written back to back (the russelldavies fork writes one
 * per fetch direction), or objects one per line (mongoexport's default JSON lines). Only one
 * record is assembled at a time. Mixing arrays and bare objects in one file is not supported.
 */
import { createReadStream } from 'node:fs';
import { verifyFile } from 'stream-json/file/verifier.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { streamValues } from 'stream-json/streamers/stream-values.js';
import { FerryError } from '../../errors.js';

export interface InputRecord {
  value: unknown;
  /** 0-based position among the file's records. */
  index: number;
  /** Bytes of the file read so far (for progress). */
  bytesRead: number;
}

/**
 * How records are framed: `arrays` (the file starts with `[`; elements of every top-level array
 * are records) or `values` (it starts with `{`; every top-level value is a record).
 */
export type JsonFraming = 'arrays' | 'values';

export async function* jsonRecords(
  path: string,
  label: string,
  framing: JsonFraming,
): AsyncGenerator<InputRecord> {
  const file = createReadStream(path);
  let bytesRead = 0;
  file.on('data', (chunk) => {
    bytesRead += chunk.length;
  });
  // JSON streaming: several top-level documents, one after the other.
  const options = { jsonStreaming: true };
  const pipeline =
    framing === 'arrays'
      ? streamArray.withParserAsStream(options)
      : streamValues.withParserAsStream(options);
  file.on('error', (e) => pipeline.destroy(e));
  file.pipe(pipeline);
  let index = 0;
  try {
    for await (const item of pipeline as AsyncIterable<{ value: unknown }>) {
      yield { value: item.value, index: index++, bytesRead };
    }
  } catch (e) {
    if (e instanceof FerryError) throw e;
    throw new FerryError(
      'input_invalid',
      `${label} is not valid JSON (${await locateJsonError(path, e)})`,
      { cause: e },
    );
  } finally {
    file.destroy();
    pipeline.destroy();
  }
}

/** The parser does not say where it failed; the verifier does (only run on failure). */
async function locateJsonError(path: string, error: unknown): Promise<string> {
  const fallback = error instanceof Error ? error.message.slice(0, 200) : String(error);
  try {
    await verifyFile(path, { jsonStreaming: true });
    return fallback;
  } catch (e) {
    const located = e as { line?: unknown; pos?: unknown; message?: unknown };
    if (typeof located.line !== 'number') return fallback;
    const reason = typeof located.message === 'string' ? located.message : fallback;
    return `line ${located.line}, column ${String(located.pos)}: ${reason
      .replace(/^ERROR at \d+ \(\d+, \d+\): /, '')
      .replace(/^Verifier (cannot parse input: |has )/, '')}`;
  }
}
