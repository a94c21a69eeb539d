/**
 * `EventRows` (src/model/source-item.ts): events serialised where they were mapped (a worker
 * thread), so that the main thread of an ingest only forwards bytes. Lines are those of
 * event-copy-row.ts without the run columns, which only the ingest knows; it adds them with
 * `withRunColumns` when it writes.
 */
import { reportKindOf, type EventRows, type TimelineEvent } from '../model/index.js';
import { eventCopyLine } from './event-copy-row.js';

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

const NEWLINE = 0x0a;

/**
 * Appends `\t<runId>\t<runId>` (first_run, last_changed_run) to every line. COPY text never
 * holds a raw newline inside a field (event-copy-row.ts escapes them), so each 0x0A ends a row.
 */
export function withRunColumns(data: Uint8Array, runId: number): Buffer {
  const bytes = Buffer.isBuffer(data)
    ? data
    : Buffer.from(data.buffer, data.byteOffset, data.length);
  const tail = Buffer.from(`\t${runId}\t${runId}\n`, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  let lines = 0;
  for (let nl = bytes.indexOf(NEWLINE, start); nl >= 0; nl = bytes.indexOf(NEWLINE, start)) {
    parts.push(bytes.subarray(start, nl), tail);
    start = nl + 1;
    lines += 1;
  }
  if (start !== bytes.length) throw new Error('event rows do not end with a newline');
  return Buffer.concat(parts, bytes.length + lines * (tail.length - 1));
}
