/**
 * The matrix-archive adapter: one file written by osteele/matrix-archive (JSON or YAML export),
 * by mongoexport from its database, or by the russelldavies fork (raw events) → model items.
 *
 * The form is recognised from the content, not the extension: the first non-blank byte picks
 * JSON or YAML, and the first record picks the form (archive-records.ts). Records are read one
 * at a time; memory holds only the sets of rooms and users already emitted.
 *
 * Keys come from src/model/matrix-keys.ts, shared with the Element adapter, so that the same
 * room exported by several tools merges in the store and its events dedupe by event ID.
 */
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { EventDecryptor } from '../../e2ee/decryptor.js';
import { FerryError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { silentLogger } from '../../logger.js';
import {
  sourceKey,
  type RoomKey,
  type SourceItem,
  type SourceKey,
  type UserRecord,
} from '../../model/index.js';
import { matrixLocalpart, matrixRoomKey, matrixUserKey } from '../../model/matrix-keys.js';
import {
  detectForm,
  type ArchiveEvent,
  isObject,
  normaliseRecord,
  type ArchiveForm,
  type RecordContext,
} from './archive-records.js';
import { jsonRecords, type InputRecord, type JsonFraming } from './json-records.js';
import { eventItems } from './matrix-event-items.js';
import { zoneResolver } from './naive-time.js';
import { yamlRecords } from './yaml-records.js';

export interface MatrixArchiveOptions {
  /**
   * Homeserver name (`matrix.org`) of the senders of an osteele export, which keeps only their
   * localparts. Required for that form; ignored by the others, which carry full user IDs.
   */
  serverName?: string;
  /**
   * IANA time zone of the machine that ran matrix-archive's importer (default `UTC`): exports
   * and its MongoDB hold naive local times. Raw events carry real timestamps and ignore it.
   */
  timezone?: string;
  logger?: Logger;
  /**
   * Room ID → canonical room ID (config `merge.rooms`, chains already followed). Events of a
   * listed room are stored in the canonical room (its room key and room record), so dumps of an
   * upgraded room and its successor, or of one room under two IDs, become one room. Events keep
   * their own keys and still dedupe. The source stays per dumped room.
   */
  roomAliases?: ReadonlyMap<string, string>;
  /** Decrypts `m.room.encrypted` events; without one they are counted as undecryptable. */
  decryptor?: EventDecryptor;
}

/** Emits a progress item every this many records. */
const PROGRESS_EVERY = 500;
const SNIFF_BYTES = 64 * 1024;
const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/;

export async function* readMatrixArchive(
  path: string,
  options: MatrixArchiveOptions = {},
): AsyncGenerator<SourceItem> {
  const logger = options.logger ?? silentLogger;
  const zone = zoneResolver(options.timezone ?? 'UTC');
  const serverName = checkedServerName(options.serverName);
  const label = path;
  const size = await fileSize(path);
  const syntax = await sniffSyntax(path);
  if (syntax === 'empty') {
    throw new FerryError('input_unsupported', `${label} is empty; ${EXPECTED}`);
  }
  const records = syntax === 'yaml' ? yamlRecords(path, label) : jsonRecords(path, label, syntax);
  const state: ReadState = {
    label,
    options,
    fromName: roomFromFileName(path),
    rooms: new Map(),
    users: new Set(),
  };
  let form: ArchiveForm | undefined;
  let ctx: RecordContext | undefined;
  for await (const record of records) {
    if (form === undefined || ctx === undefined) {
      form = formOf(record, label, serverName);
      logger.info({ file: label, form }, 'reading a matrix-archive input');
      ctx = { zone };
      if (serverName !== undefined) ctx.serverName = serverName;
      if (state.fromName !== undefined) ctx.fallbackRoomId = state.fromName.roomId;
    }
    const result = normaliseRecord(form, record.value, ctx);
    if (!result.ok) {
      const where = `${label}: record ${record.index + 1}: ${result.problem}`;
      yield { type: 'skip', reason: 'malformed_message', where };
      continue;
    }
    yield* recordItems(state, result.event);
    if ((record.index + 1) % PROGRESS_EVERY === 0) {
      yield { type: 'progress', done: record.bytesRead, total: size, unit: 'bytes', label };
    }
  }
  if (form === undefined) logger.warn({ file: label }, 'the input holds no records');
  yield { type: 'progress', done: size, total: size, unit: 'bytes', label };
}

function checkedServerName(option: string | undefined): string | undefined {
  const serverName = option?.trim();
  if (serverName !== undefined && !SERVER_NAME.test(serverName)) {
    throw new FerryError(
      'config_invalid',
      `serverName: ${JSON.stringify(option)} is not a homeserver name (expected e.g. "matrix.org")`,
    );
  }
  return serverName;
}

/** The input's form, from its first record; an export needs the senders' server name. */
function formOf(record: InputRecord, label: string, serverName: string | undefined): ArchiveForm {
  const form = detectForm(record.value);
  if (form === undefined) throw unsupported(label, record);
  if (form === 'export' && serverName === undefined) {
    throw new FerryError(
      'config_invalid',
      `${label} is an osteele/matrix-archive export, which keeps only the localpart of each sender; set the serverName option (--server-name) to their homeserver, e.g. matrix.org`,
    );
  }
  return form;
}

/** What one read remembers across records: the rooms and users already yielded. */
interface ReadState {
  label: string;
  options: MatrixArchiveOptions;
  fromName: ReturnType<typeof roomFromFileName>;
  rooms: Map<string, { source: SourceKey; room: RoomKey }>;
  users: Set<string>;
}

/** One event's items, after its room (first time) and the users it names (first time each). */
function* recordItems(state: ReadState, event: ArchiveEvent): Generator<SourceItem> {
  const { source, room } = yield* roomOf(state, event.roomId);
  // Users are emitted before the first event that names them; skipped events name nobody.
  const senders: SourceItem[] = [];
  const targets: SourceItem[] = [];
  const user = (mxid: string, displayName: string | undefined, pending: SourceItem[]) => {
    if (!state.users.has(mxid)) {
      state.users.add(mxid);
      pending.push({ type: 'user', user: userRecord(mxid, source, displayName) });
    }
    return matrixUserKey(mxid);
  };
  const { decryptor } = state.options;
  const items = eventItems(event, {
    source,
    room,
    user: (mxid, displayName) => user(mxid, displayName, targets),
    where: `${state.label}: ${event.eventId}`,
    ...(decryptor === undefined ? {} : { decryptor }),
  });
  if (items.some((item) => item.type === 'event')) user(event.sender, event.senderName, senders);
  yield* senders;
  yield* targets;
  yield* items;
}

/** The room of a Matrix room ID (one source per room), yielding its records the first time. */
function* roomOf(
  state: ReadState,
  roomId: string,
): Generator<SourceItem, { source: SourceKey; room: RoomKey }> {
  const known = state.rooms.get(roomId);
  if (known !== undefined) return known;
  const name = state.fromName?.roomId === roomId ? state.fromName.name : undefined;
  const canonicalId = state.options.roomAliases?.get(roomId) ?? roomId;
  const keys = { source: sourceKey(`matrix-archive:${roomId}`), room: matrixRoomKey(canonicalId) };
  state.rooms.set(roomId, keys);
  yield {
    type: 'source',
    source: { key: keys.source, kind: 'matrix-archive', name: name ?? roomId },
  };
  yield {
    type: 'room',
    room: {
      key: keys.room,
      source: keys.source,
      nativeId: canonicalId,
      kind: 'private',
      ...(name === undefined ? {} : { name }),
      isArchived: false,
      isGeneral: false,
      members: [],
    },
  };
  return keys;
}

const EXPECTED =
  'expected an osteele/matrix-archive export (a JSON or YAML list of records with room_id, event_id, sender, timestamp and content), mongoexport JSON lines of its "message" collection, or raw Matrix events with origin_server_ts (russelldavies/matrix-archive JSON)';

function unsupported(label: string, record: InputRecord): FerryError {
  const value = record.value;
  if (isObject(value) && 'sender_id' in value && 'sender_name' in value && !('event_id' in value)) {
    return new FerryError(
      'input_unsupported',
      `${label} looks like a russelldavies/matrix-archive YAML log, which has no event IDs and cannot be imported; export the room with its JSON output instead`,
    );
  }
  return new FerryError(
    'input_unsupported',
    `${label}: record ${record.index + 1} is not a matrix-archive record; ${EXPECTED}`,
  );
}

/**
 * matrix-archive knows no display names: the localpart stands in, and the record is a
 * placeholder so that a better-informed source (an Element export of the same room) wins.
 */
function userRecord(mxid: string, source: SourceKey, displayName: string | undefined): UserRecord {
  const handle = matrixLocalpart(mxid);
  return {
    key: matrixUserKey(mxid),
    source,
    nativeId: mxid,
    displayName: displayName ?? handle,
    handle,
    isBot: false,
    isDeleted: false,
    isPlaceholder: displayName === undefined,
    isAdmin: false,
  };
}

async function fileSize(path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) {
      throw new FerryError(
        'input_unsupported',
        `${path} is a folder; matrix-archive inputs are single files (.json, .yaml, .jsonl)`,
      );
    }
    return info.size;
  } catch (e) {
    if (e instanceof FerryError) throw e;
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new FerryError('input_not_found', `${path} does not exist`, { cause: e });
    }
    throw new FerryError('input_invalid', `${path} cannot be read (${String(code)})`, { cause: e });
  }
}

/** JSON when the first non-blank character opens an array or object; YAML otherwise. */
async function sniffSyntax(path: string): Promise<JsonFraming | 'yaml' | 'empty'> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    const head = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '');
    const first = /\S/.exec(head)?.[0];
    if (first === undefined) return 'empty';
    return first === '[' ? 'arrays' : first === '{' ? 'values' : 'yaml';
  } finally {
    await handle.close();
  }
}

/** russelldavies names its files `<room display name>_<room id>.json`. */
function roomFromFileName(path: string): { roomId: string; name?: string } | undefined {
  const stem = basename(path).replace(/\.[A-Za-z]+$/, '');
  const at = stem.lastIndexOf('_!');
  if (at < 0) return undefined;
  const roomId = stem.slice(at + 1);
  const name = stem.slice(0, at).trim();
  return name === '' ? { roomId } : { roomId, name };
}
