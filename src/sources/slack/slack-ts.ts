/**
 * Slack `ts` strings ("1355517523.000005"): the message ID inside a channel and its time.
 * Kept as strings; converted to integer microseconds so that two messages in the same
 * millisecond neither collide nor reorder.
 *
 * Microseconds are plain numbers, not bigints: every `ts` up to the year 2255 is a safe integer
 * (2^53 µs), and number arithmetic costs nothing next to BigInt's heap allocations on a
 * 10^7-message export. A `ts` beyond that range is treated as invalid.
 */

const TS_PATTERN = /^(\d{1,12})(?:\.(\d{1,6}))?$/;
const FRACTION_SCALE = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

/** Microseconds since the epoch (a safe integer), or undefined when `ts` is not a Slack timestamp. */
export function slackTsToMicros(ts: unknown): number | undefined {
  if (typeof ts !== 'string' && typeof ts !== 'number') return undefined;
  const match = TS_PATTERN.exec(typeof ts === 'string' ? ts : String(ts));
  if (match === null) return undefined;
  const fraction = match[2] ?? '';
  const micros =
    Number(match[1]) * 1_000_000 +
    (fraction === '' ? 0 : Number(fraction) * (FRACTION_SCALE[fraction.length] ?? 1));
  return Number.isSafeInteger(micros) ? micros : undefined;
}

/** The canonical string form (`seconds.micros`, six digits) used in keys. */
export function canonicalSlackTs(micros: number): string {
  const fraction = micros % 1_000_000;
  return `${(micros - fraction) / 1_000_000}.${String(fraction).padStart(6, '0')}`;
}

export function microsToMillis(micros: number): number {
  return Math.floor(micros / 1000);
}

/** Slack `created`/`last_set` fields: seconds as int or string; placeholders before 2013 are absent. */
export function slackSecondsToMillis(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isFinite(n)) return undefined;
  const ms = Math.trunc(n * 1000);
  return ms < Date.UTC(2013, 0, 1) ? undefined : ms;
}
