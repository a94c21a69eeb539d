/**
 * `EventRows` (src/model/source-item.ts) arrive without the run columns, which only the ingest
 * knows (src/model/event-copy-row.ts `encodeEventRows`); the ingest adds them when it writes.
 */

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
