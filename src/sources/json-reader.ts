/**
 * Reading JSON from export entries with errors a user can act on: the archive, the entry and
 * the position are always named.
 */
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { FerryError } from '../errors.js';

/** Parses a whole entry (small files: Slack day files, index files). */
export function parseJsonEntry(bytes: Buffer, archive: string, entry: string): unknown {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown;
  } catch (e) {
    throw new FerryError(
      'input_invalid',
      `${archive}: ${entry} is not valid JSON (${describeJsonError(e, text)})`,
      { cause: e },
    );
  }
}

function describeJsonError(e: unknown, text: string): string {
  const message = e instanceof Error ? e.message : String(e);
  const position = /position (\d+)/.exec(message);
  if (position?.[1] !== undefined) {
    const offset = Number(position[1]);
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    return `line ${line}, column ${column}: ${message.replace(/ in JSON at position \d+.*$/, '')}`;
  }
  if (/Unexpected end of JSON input/.test(message)) {
    const lines = text.split('\n').length;
    return `unexpected end of file at line ${lines}`;
  }
  return message;
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
  source.on('error', (e: unknown) => pipeline.destroy(e instanceof Error ? e : new Error(String(e))));
  source.pipe(pipeline);
  try {
    for await (const item of pipeline as AsyncIterable<{ key: number; value: unknown }>) {
      yield item.value;
    }
  } catch (e) {
    if (e instanceof FerryError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw new FerryError('input_invalid', `${archive}: ${entry} is not a valid JSON array (${message})`, {
      cause: e,
    });
  } finally {
    source.destroy?.();
    pipeline.destroy();
  }
}
