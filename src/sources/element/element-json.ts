/**
 * Streaming reader of an Element `export.json` (source-formats.md §2.4).
 *
 * The document is one pretty-printed object: a few small metadata keys (`room_name`, `topic`,
 * `exported_by`, …) and then `messages`, an array that can hold millions of events. The
 * reader walks the parser's token stream once and hands out
 *
 * - every top-level key whose value is a primitive, as a `meta` part, in document order;
 * - every element of `messages`, assembled on its own, as an `event` part.
 *
 * At most one event is assembled at a time, so memory does not grow with the document.
 * Nested top-level values other than `messages` are skipped unread.
 *
 * Errors are `FerryError('input_invalid')` naming the document (`name`): malformed JSON, a
 * top level that is not an object, a `messages` that is not an array, or no `messages` at
 * all. Errors of the underlying stream (a corrupt zip entry) pass through unchanged.
 */
import chain from 'stream-chain';
import { none } from 'stream-chain/defs.js';
import Assembler from 'stream-json/assembler.js';
import { parser, type Token } from 'stream-json/parser.js';
import { verifier } from 'stream-json/utils/verifier.js';
import { FerryError } from '../../errors.js';

export type ElementDocumentPart =
  | { type: 'meta'; key: string; value: string | number | boolean | null }
  /** `index` is the element's position in `messages` (for messages naming it). */
  | { type: 'event'; index: number; value: unknown };

export interface ReadDocumentOptions {
  /** Called with the size of every chunk read from `input` (progress in bytes). */
  onBytes?: (bytes: number) => void;
  /**
   * Opens the document again from the start. Used only after a syntax error, to find its line
   * and column (the streaming parser does not say where it failed).
   */
  reopen?: () => Promise<NodeJS.ReadableStream>;
}

export async function* readElementDocument(
  input: NodeJS.ReadableStream,
  name: string,
  options: ReadDocumentOptions = {},
): AsyncGenerator<ElementDocumentPart> {
  const walker = new DocumentWalker(name);
  const pipeline = chain([
    parser({ streamValues: false }),
    (token: Token) => walker.push(token) ?? none,
  ]);
  const source = input as NodeJS.ReadableStream & { destroy?: () => void };
  source.on('error', (e: unknown) =>
    pipeline.destroy(e instanceof Error ? e : new Error(String(e))),
  );
  if (options.onBytes !== undefined) {
    const onBytes = options.onBytes;
    source.on('data', (chunk: Buffer | string) => onBytes(chunk.length));
  }
  source.pipe(pipeline);
  try {
    for await (const part of pipeline as AsyncIterable<ElementDocumentPart>) yield part;
    walker.finish();
  } catch (e) {
    if (e instanceof FerryError) throw e;
    const located = options.reopen === undefined ? undefined : await locateError(options.reopen);
    const message = located ?? (e instanceof Error ? e.message : String(e));
    throw new FerryError('input_invalid', `${name} is not valid JSON (${message})`, { cause: e });
  } finally {
    source.destroy?.();
    pipeline.destroy();
  }
}

/** Line, column and reason of the first syntax error, from stream-json's verifier. */
async function locateError(
  reopen: () => Promise<NodeJS.ReadableStream>,
): Promise<string | undefined> {
  let input: NodeJS.ReadableStream;
  try {
    input = await reopen();
  } catch {
    return undefined;
  }
  return new Promise((resolve) => {
    const check = verifier.asStream();
    const done = (where: string | undefined) => {
      (input as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      resolve(where);
    };
    check.on('error', (err: Error & { line?: number; pos?: number }) => {
      if (err.line === undefined) return done(undefined);
      const reason = err.message
        .replace(/^ERROR at \d+ \(\d+, \d+\): /, '')
        .replace(/^Verifier (cannot parse input: |has )/, '');
      done(`line ${err.line}, column ${err.pos ?? 0}: ${reason}`);
    });
    check.on('finish', () => done(undefined));
    input.on('error', () => done(undefined));
    check.resume();
    input.pipe(check);
  });
}

/** Where the walker is in the document. */
type Place =
  | 'before' // nothing read yet
  | 'top' // inside the top-level object, between keys
  | 'skipping' // inside a nested top-level value other than `messages`
  | 'messages' // inside `messages`, between elements
  | 'event' // assembling one element of `messages`
  | 'after'; // the top-level object is closed

class DocumentWalker {
  private place: Place = 'before';
  private key = '';
  /** Nesting depth inside a skipped value. */
  private depth = 0;
  private assembler: Assembler | undefined;
  private index = 0;
  private sawMessages = false;

  constructor(private readonly name: string) {}

  push(token: Token): ElementDocumentPart | undefined {
    switch (this.place) {
      case 'before':
        if (token.name !== 'startObject') {
          throw new FerryError(
            'input_invalid',
            `${this.name} is not an Element JSON export (its top level is not an object)`,
          );
        }
        this.place = 'top';
        return undefined;
      case 'top':
        return this.atTop(token);
      case 'skipping':
        if (token.name === 'startObject' || token.name === 'startArray') this.depth += 1;
        if (token.name === 'endObject' || token.name === 'endArray') this.depth -= 1;
        if (this.depth === 0) this.place = 'top';
        return undefined;
      case 'messages':
        if (token.name === 'endArray') {
          this.place = 'top';
          return undefined;
        }
        this.assembler = new Assembler();
        this.place = 'event';
        return this.assemble(token);
      case 'event':
        return this.assemble(token);
      case 'after':
        return undefined;
    }
  }

  finish(): void {
    if (this.place !== 'after') {
      throw new FerryError('input_invalid', `${this.name} ends before the export is complete`);
    }
    if (!this.sawMessages) {
      throw new FerryError(
        'input_invalid',
        `${this.name} has no "messages" array: it is not an Element JSON export`,
      );
    }
  }

  private atTop(token: Token): ElementDocumentPart | undefined {
    switch (token.name) {
      case 'keyValue':
        this.key = token.value;
        return undefined;
      case 'endObject':
        this.place = 'after';
        return undefined;
      case 'startArray':
        if (this.key === 'messages' && !this.sawMessages) {
          this.sawMessages = true;
          this.place = 'messages';
          return undefined;
        }
        return this.skip();
      case 'startObject':
        if (this.key === 'messages') return this.notAnArray();
        return this.skip();
      case 'stringValue':
        return this.meta(token.value);
      case 'numberValue':
        return this.meta(Number(token.value));
      case 'trueValue':
        return this.meta(true);
      case 'falseValue':
        return this.meta(false);
      case 'nullValue':
        return this.meta(null);
      // Packed values only: the streamed pieces, key markers and whitespace carry nothing new.
      case 'endArray':
      case 'startKey':
      case 'endKey':
      case 'startString':
      case 'stringChunk':
      case 'endString':
      case 'startNumber':
      case 'numberChunk':
      case 'endNumber':
      case 'whitespace':
        return undefined;
    }
  }

  private meta(value: string | number | boolean | null): ElementDocumentPart {
    if (this.key === 'messages') this.notAnArray();
    return { type: 'meta', key: this.key, value };
  }

  private skip(): undefined {
    this.place = 'skipping';
    this.depth = 1;
    return undefined;
  }

  private notAnArray(): never {
    throw new FerryError('input_invalid', `${this.name}: "messages" is not an array`);
  }

  private assemble(token: Token): ElementDocumentPart | undefined {
    const assembler = this.assembler;
    if (assembler === undefined) return undefined;
    assembler.consume(token);
    if (!assembler.done) return undefined;
    this.assembler = undefined;
    this.place = 'messages';
    const part: ElementDocumentPart = {
      type: 'event',
      index: this.index,
      value: assembler.current,
    };
    this.index += 1;
    return part;
  }
}
