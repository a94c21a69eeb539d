/**
 * One event as a line of PostgreSQL's COPY text format: the columns of `events` that a model
 * event fills, in EVENT_COPY_COLUMNS order. Shared by the direct COPY, the staging table and
 * the ingest benchmark's baseline, so that all three load byte-identical rows.
 *
 * It lives in the model because it is part of the contract between sources and the store: a
 * source may hand over events already serialised (`event_rows`, mapped in a worker thread so
 * that the ingest's main thread only forwards bytes), and this is their format.
 */
import { reportKindOf, type EventRows, type TimelineEvent } from './index.js';
import { eventPayload } from './event-payload.js';

/** Columns of `events` filled from a model event, in COPY order. */
export const EVENT_COPY_COLUMNS = [
  'key',
  'room_key',
  'order_key',
  'ts',
  'sender',
  'kind',
  'source_key',
  'native_id',
  'thread_root',
  'payload',
] as const;

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** COPY text format: backslash, tab, newline and carriage return escaped; `\N` is null. */
export function copyTextField(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value
    .replace(/\\/g, '\\\\')
    .replace(/\t/g, '\\t')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r');
}

/** JSON text never holds a raw tab, newline or carriage return: only backslashes need doubling. */
function copyJsonField(json: string): string {
  return json.includes('\\') ? json.replace(/\\/g, '\\\\') : json;
}

/**
 * The COPY line of one event (the EVENT_COPY_COLUMNS fields, built without intermediate
 * arrays), followed by `tail` (`\t`-prefixed extra columns, or '') and a newline.
 */
export function eventCopyLine(e: TimelineEvent, tail: string): string {
  const root = e.thread?.root;
  const payload = copyJsonField(JSON.stringify(eventPayload(e)));
  // Keys and IDs almost never need escaping: one test over all of them instead of one each.
  if (
    !NEEDS_ESCAPE.test(e.key + e.room + e.order + e.sender + e.source + e.nativeId + (root ?? ''))
  ) {
    return `${e.key}\t${e.room}\t${e.order}\t${e.ts}\t${e.sender}\t${e.kind}\t${e.source}\t${e.nativeId}\t${root ?? '\\N'}\t${payload}${tail}\n`;
  }
  return (
    copyTextField(e.key) +
    '\t' +
    copyTextField(e.room) +
    '\t' +
    copyTextField(e.order) +
    '\t' +
    String(e.ts) +
    '\t' +
    copyTextField(e.sender) +
    '\t' +
    e.kind +
    '\t' +
    copyTextField(e.source) +
    '\t' +
    copyTextField(e.nativeId) +
    '\t' +
    (root === undefined ? '\\N' : copyTextField(root)) +
    '\t' +
    payload +
    tail +
    '\n'
  );
}

/** Serialises events (in order) and the figures the summary counts of them. */
export function encodeEventRows(events: readonly TimelineEvent[]): EventRows {
  const kinds: EventRows['kinds'] = {};
  let threadReplies = 0;
  let minTs = Number.POSITIVE_INFINITY;
  let maxTs = Number.NEGATIVE_INFINITY;
  let text = '';
  for (const e of events) {
    text += eventCopyLine(e, '');
    const kind = reportKindOf(e);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    if (e.thread !== undefined && e.thread.root !== e.key) threadReplies += 1;
    if (e.ts < minTs) minTs = e.ts;
    if (e.ts > maxTs) maxTs = e.ts;
  }
  return {
    data: Buffer.from(text, 'utf8'),
    count: events.length,
    kinds,
    threadReplies,
    minTs,
    maxTs,
  };
}
