/**
 * The Element adapter: an Element "Export Chat" JSON export → a stream of model items.
 *
 * Input forms (source-formats.md §2.3, §2.11): a bare `.json` file; a zip with or without a
 * root folder; the same unzipped. In a zip or folder the document is `export.json` wherever
 * it is, or else the only `*.json`; attachments are looked up next to it.
 *
 * The document is read twice, streaming both times (memory does not grow with its size):
 *
 * 1. survey: room ID, room state, people and their names (element-survey.ts);
 * 2. items: the source, the room, the users, then every event in document order, each file
 *    event preceded by its media record.
 *
 * Events come out in export order (chronological); an out-of-order one still sorts right in
 * the store, since its order key is its own timestamp and event ID.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { FerryError } from '../../errors.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { EventDecryptor } from '../../e2ee/decryptor.js';
import type { SourceItem, SourceKey } from '../../model/index.js';
import { isZipFile, openArchive } from '../../archive/archive-reader.js';
import { errorText, isErrnoCode } from '../../archive/helpers.js';
import { matrixRoomKey } from '../../model/matrix-keys.js';
import { ElementAttachments } from './element-attachments.js';
import {
  elementEventContext,
  elementEventItems,
  type ElementEventContext,
} from './element-events.js';
import { readElementDocument } from './element-json.js';
import { elementSourceKey } from './element-keys.js';
import { ElementSurvey } from './element-survey.js';
import { nonEmpty } from './json-guards.js';

export interface ElementExportOptions {
  logger?: Logger;
  /**
   * Room ID → canonical room ID (config `merge.rooms`, chains already followed). An export of a
   * listed room is stored as the canonical room: its room record and events get the canonical
   * room key, so exports of an upgraded room and its successor (or of one room under two IDs)
   * become one room. Events keep their own keys, so events in both exports still dedupe. The
   * source stays per exported room.
   */
  roomAliases?: ReadonlyMap<string, string>;
  /** Decrypts `m.room.encrypted` events; without one they are counted as undecryptable. */
  decryptor?: EventDecryptor;
}

/** Events between two progress items. */
const PROGRESS_EVERY = 1000;

export async function* readElementExport(
  path: string,
  options: ElementExportOptions = {},
): AsyncGenerator<SourceItem> {
  const logger = (options.logger ?? silentLogger).child({ input: path });
  const input = await openElementInput(path, logger);
  const progress = new TwoPassProgress(input);
  try {
    const { survey, meta } = yield* surveyPass(input, progress);
    const roomId = survey.roomId;
    if (roomId === undefined) {
      throw new FerryError(
        'input_invalid',
        `${input.name} holds no event with a room_id, so its room cannot be identified`,
      );
    }
    const canonicalId = options.roomAliases?.get(roomId) ?? roomId;
    const source = yield* roomItems(survey, meta, roomId, canonicalId);
    logger.debug(
      { room: roomId, canonical: canonicalId, attachments: input.attachments?.size ?? 0 },
      'element export surveyed',
    );
    const ctx = elementEventContext({
      source,
      roomId,
      room: matrixRoomKey(canonicalId),
      where: input.name,
      attachments: input.attachments,
      threadRoots: new Map([...survey.threadRoots].map((id) => [id, false])),
      ...(options.decryptor === undefined ? {} : { decryptor: options.decryptor }),
    });
    survey.threadRoots.clear();
    yield* eventsPass(input, progress, ctx);
    if (ctx.orphanReplies > 0) {
      const count = ctx.orphanReplies;
      yield { type: 'loss', reason: 'thread_root_missing', where: input.name, count };
    }
  } finally {
    await input.close();
  }
}

/** Progress over the bytes of both passes: the survey is half of the work. */
class TwoPassProgress {
  readonly total: number;
  bytes = 0;
  readonly onBytes = (n: number) => (this.bytes += n);

  constructor(private readonly input: ElementInput) {
    this.total = 2 * input.size;
  }

  item(): SourceItem {
    const { total, input } = this;
    return {
      type: 'progress',
      done: Math.min(this.bytes, total),
      total,
      unit: 'bytes',
      label: input.entry,
    };
  }
}

/** Pass 1: who and what the export holds (users, thread roots, its room), and its metadata. */
async function* surveyPass(
  input: ElementInput,
  progress: TwoPassProgress,
): AsyncGenerator<SourceItem, { survey: ElementSurvey; meta: Map<string, unknown> }> {
  const survey = new ElementSurvey(input.attachments);
  const meta = new Map<string, unknown>();
  for await (const part of readElementDocument(await input.open(), input.name, {
    onBytes: progress.onBytes,
    reopen: () => input.open(),
  })) {
    if (part.type === 'meta') {
      meta.set(part.key, part.value);
      continue;
    }
    survey.learn(part.value);
    if ((part.index + 1) % PROGRESS_EVERY === 0) yield progress.item();
  }
  return { survey, meta };
}

/** The source, the room and its users, from the survey; returns the source key. */
function* roomItems(
  survey: ElementSurvey,
  meta: Map<string, unknown>,
  roomId: string,
  canonicalId: string,
): Generator<SourceItem, SourceKey> {
  const roomName = nonEmpty(meta.get('room_name'));
  const topic = nonEmpty(meta.get('topic'));
  const source = elementSourceKey(roomId, nonEmpty(meta.get('exported_by')));
  yield { type: 'source', source: { key: source, kind: 'element', name: roomName ?? roomId } };
  yield {
    type: 'room',
    room: survey.roomRecord(source, canonicalId, {
      ...(roomName === undefined ? {} : { name: roomName }),
      ...(topic === undefined ? {} : { topic }),
      merged: canonicalId !== roomId,
    }),
  };
  for (const user of survey.userRecords(source)) yield { type: 'user', user };
  return source;
}

/** Pass 2: the events. */
async function* eventsPass(
  input: ElementInput,
  progress: TwoPassProgress,
  ctx: ElementEventContext,
): AsyncGenerator<SourceItem> {
  progress.bytes = input.size;
  for await (const part of readElementDocument(await input.open(), input.name, {
    onBytes: progress.onBytes,
    reopen: () => input.open(),
  })) {
    if (part.type !== 'event') continue;
    yield* elementEventItems(part.value, part.index, ctx);
    if ((part.index + 1) % PROGRESS_EVERY === 0) yield progress.item();
  }
  progress.bytes = progress.total;
  yield progress.item();
}

/** Where the export document is, however it arrived. */
interface ElementInput {
  /** `<input>: <entry>` for a zip or folder, the path for a bare file. */
  name: string;
  /** Entry path of the document (its file name for a bare file). */
  entry: string;
  /** Bytes of the document (for progress). */
  size: number;
  open(): Promise<NodeJS.ReadableStream>;
  attachments: ElementAttachments | undefined;
  close(): Promise<void>;
}

async function openElementInput(path: string, logger: Logger): Promise<ElementInput> {
  let stats;
  try {
    stats = await stat(path);
  } catch (e) {
    if (isErrnoCode(e, 'ENOENT') || isErrnoCode(e, 'ENOTDIR')) {
      throw new FerryError('input_not_found', `${path}: no such file or folder`, { cause: e });
    }
    throw new FerryError('input_invalid', `${path}: cannot be read (${errorText(e)})`, {
      cause: e,
    });
  }
  if (stats.isFile() && !(await isZipFile(path))) {
    return {
      name: path,
      entry: posix.basename(path.split('\\').join('/')),
      size: stats.size,
      open: () => Promise.resolve(createReadStream(path)),
      attachments: undefined,
      close: () => Promise.resolve(),
    };
  }
  // No root markers: entry paths stay relative to the top of the zip or folder, which is how
  // the push side (opening the same input with the default markers) will look them up.
  const reader = await openArchive(path, { rootMarkers: [], logger });
  try {
    const entry = findDocument(reader.label, reader.entries());
    const slash = entry.path.lastIndexOf('/');
    const base = slash < 0 ? '' : entry.path.slice(0, slash + 1);
    return {
      name: `${reader.label}: ${entry.path}`,
      entry: entry.path,
      size: entry.size,
      open: () => reader.openStream(entry.path),
      attachments: new ElementAttachments(
        reader.entries().map((e) => e.path),
        base,
      ),
      close: () => reader.close(),
    };
  } catch (e) {
    await reader.close();
    throw e;
  }
}

/** `export.json` anywhere, else the only JSON file; never a guess between several. */
function findDocument(
  label: string,
  entries: readonly { path: string; size: number }[],
): { path: string; size: number } {
  const json = entries.filter((e) => /\.json$/i.test(e.path));
  const named = json.filter((e) => posix.basename(e.path) === 'export.json');
  const candidates = named.length > 0 ? named : json;
  const [first, second] = candidates;
  if (first === undefined) {
    throw new FerryError(
      'input_invalid',
      `${label}: no export.json found; this does not look like an Element JSON export`,
    );
  }
  if (second !== undefined) {
    const listed = candidates
      .slice(0, 5)
      .map((e) => e.path)
      .join(', ');
    throw new FerryError(
      'input_invalid',
      `${label}: several candidate export files (${listed}${candidates.length > 5 ? ', …' : ''}); unzip it and pass the one to read as a file`,
    );
  }
  return first;
}
