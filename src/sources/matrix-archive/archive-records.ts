/**
 * The three inputs the matrix-archive adapter reads, and how one record of each becomes a raw
 * Matrix event again (source-formats.md §3).
 *
 * - `export`: osteele/matrix-archive `export_messages.py` JSON or YAML. Senders are localparts
 *   (the server is lost), `timestamp` is a naive ISO time, content keys carry `•` for `.`, and
 *   `content.url` is a legacy download URL.
 * - `mongo`: mongoexport of its `message` collection (JSON lines, or `--jsonArray`). Full
 *   senders, `timestamp: {$date}` holding the naive local time stored as if it were UTC,
 *   mangled content keys, Extended JSON wrappers.
 * - `raw`: the russelldavies fork's JSON output: matrix-nio `event.source` dicts, i.e. real
 *   Matrix events with `origin_server_ts`, plus `_sender_name` / `_media_location` extras.
 */
import { isMatrixEventId, isMatrixRoomId, isMatrixUserId } from '../../model/matrix-keys.js';
import type { ZoneResolver } from './naive-time.js';
import { parseIsoTime } from './naive-time.js';
import { plainExtendedJson, unmangleKeys } from './stored-content.js';

/** Which tool wrote the input; detected from its first record. Closed. */
export type ArchiveForm = 'export' | 'mongo' | 'raw';

export type JsonObject = Record<string, unknown>;

/** One event as any form gives it, back in raw Matrix shape. */
export interface ArchiveEvent {
  eventId: string;
  roomId: string;
  /** Full MXID (`@local:server`). */
  sender: string;
  /** Display name the file records for the sender (russelldavies `_sender_name`). */
  senderName?: string;
  /** Epoch milliseconds (`origin_server_ts`, or the naive time resolved in the zone). */
  ts: number;
  type: string;
  /** Undefined when the exporter lost it (matrix-archive deletes content it cannot rewrite). */
  content: JsonObject | undefined;
  stateKey?: string;
  /** Top-level `redacts` of pre-v11 redaction events. */
  redacts?: string;
  /** The event was redacted before it was archived (`redacted_because`). */
  redacted: boolean;
  /** `unsigned.prev_content.membership` of a member event (profile changes repeat `join`). */
  prevMembership?: string;
}

export type RecordResult = { ok: true; event: ArchiveEvent } | { ok: false; problem: string };

export interface RecordContext {
  /** Homeserver of localpart-only senders (required for `export`). */
  serverName?: string;
  /** Interprets naive wall-clock times (export `timestamp`, Mongo `$date`). */
  zone: ZoneResolver;
  /** Room of events without `room_id` (russelldavies names its files `<name>_<room_id>.json`). */
  fallbackRoomId?: string;
}

export const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The form a record belongs to, or undefined when it is none of them. */
export function detectForm(record: unknown): ArchiveForm | undefined {
  if (!isObject(record) || typeof record.event_id !== 'string') return undefined;
  if (typeof record.origin_server_ts === 'number') return 'raw';
  if (record._id !== undefined || (isObject(record.timestamp) && '$date' in record.timestamp))
    return 'mongo';
  if (typeof record.timestamp === 'string' && typeof record.room_id === 'string') return 'export';
  return undefined;
}

export function normaliseRecord(
  form: ArchiveForm,
  record: unknown,
  ctx: RecordContext,
): RecordResult {
  if (!isObject(record)) return { ok: false, problem: 'not an object' };
  const eventId = str(record.event_id);
  if (eventId === undefined || !isMatrixEventId(eventId))
    return { ok: false, problem: 'no valid event_id' };
  const roomId = str(record.room_id) ?? ctx.fallbackRoomId;
  if (roomId === undefined || !isMatrixRoomId(roomId))
    return { ok: false, problem: `${eventId}: no valid room_id` };
  switch (form) {
    case 'export':
    case 'mongo':
      return archivedMessage(form, record, eventId, roomId, ctx);
    case 'raw':
      return rawEvent(record, eventId, roomId);
  }
}

/** Records of osteele/matrix-archive's database, exported (`export`) or dumped (`mongo`). */
function archivedMessage(
  form: 'export' | 'mongo',
  record: JsonObject,
  eventId: string,
  roomId: string,
  ctx: RecordContext,
): RecordResult {
  // `user_id` (a legacy event field) is a full MXID when present: it keeps the server.
  const sender = qualify(str(record.user_id) ?? str(record.sender), ctx.serverName);
  if (sender === undefined) return { ok: false, problem: `${eventId}: no usable sender` };
  const wall = form === 'export' ? exportTime(record.timestamp) : mongoTime(record.timestamp);
  if (wall === undefined) return { ok: false, problem: `${eventId}: unreadable timestamp` };
  const type = str(record.messageType) ?? str(record.type) ?? 'm.room.message';
  let content: JsonObject | undefined;
  if (record.content !== undefined && record.content !== null) {
    const repaired = unmangleKeys(
      form === 'mongo' ? plainExtendedJson(record.content) : record.content,
    );
    if (!isObject(repaired)) return { ok: false, problem: `${eventId}: content is not an object` };
    content = repaired;
  }
  return {
    ok: true,
    event: {
      eventId,
      roomId,
      sender,
      ts: wall.zoned ? wall.millis : ctx.zone(wall.millis),
      type,
      content,
      redacted: record.redacted_because !== undefined,
    },
  };
}

function rawEvent(record: JsonObject, eventId: string, roomId: string): RecordResult {
  const sender = str(record.sender);
  if (sender === undefined || !isMatrixUserId(sender))
    return { ok: false, problem: `${eventId}: no sender MXID` };
  const ts = record.origin_server_ts;
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0)
    return { ok: false, problem: `${eventId}: unreadable origin_server_ts` };
  const type = str(record.type);
  if (type === undefined) return { ok: false, problem: `${eventId}: no type` };
  const unsigned = isObject(record.unsigned) ? record.unsigned : {};
  const prev = isObject(unsigned.prev_content) ? str(unsigned.prev_content.membership) : undefined;
  const stateKey = str(record.state_key);
  const redacts = str(record.redacts);
  return {
    ok: true,
    event: {
      eventId,
      roomId,
      sender,
      ...optional('senderName', displayNameOf(str(record._sender_name), sender)),
      ts,
      type,
      content: isObject(record.content) ? record.content : undefined,
      ...optional('stateKey', stateKey),
      ...optional('redacts', redacts),
      redacted: record.redacted_because !== undefined || unsigned.redacted_because !== undefined,
      ...optional('prevMembership', prev),
    },
  };
}

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

/** `alice` → `@alice:server`; full MXIDs are kept. */
function qualify(sender: string | undefined, serverName: string | undefined): string | undefined {
  if (sender === undefined || sender === '') return undefined;
  if (isMatrixUserId(sender)) return sender;
  if (serverName === undefined) return undefined;
  const local = sender.startsWith('@') ? sender.slice(1) : sender;
  return local === '' || local.includes(':') ? undefined : `@${local}:${serverName}`;
}

/** `Alice <@alice:example.org>` → `Alice`; a bare `<@alice:example.org>` says nothing. */
function displayNameOf(senderName: string | undefined, mxid: string): string | undefined {
  if (senderName === undefined) return undefined;
  const name = senderName.replace(`<${mxid}>`, '').trim();
  return name === '' ? undefined : name;
}

function exportTime(value: unknown): { millis: number; zoned: boolean } | undefined {
  return typeof value === 'string' ? parseIsoTime(value) : undefined;
}

/**
 * `{$date: "…Z"}`, `{$date: {$numberLong: "…"}}` or legacy `{$date: <ms>}`. Whatever the
 * rendering, the BSON value is the importer's naive local time stored as UTC: wall-clock ms.
 */
function mongoTime(value: unknown): { millis: number; zoned: boolean } | undefined {
  const date = isObject(value) ? value.$date : value;
  let millis: number | undefined;
  if (typeof date === 'number') millis = date;
  else if (typeof date === 'string') millis = parseIsoTime(date)?.millis;
  else if (isObject(date) && typeof date.$numberLong === 'string')
    millis = Number(date.$numberLong);
  return millis === undefined || !Number.isFinite(millis) ? undefined : { millis, zoned: false };
}
