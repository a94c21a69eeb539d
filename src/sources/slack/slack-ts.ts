/**
 * Slack `ts` strings ("1355517523.000005"): the message ID inside a channel and its time.
 * Kept as strings; converted to integer microseconds so that two messages in the same
 * millisecond neither collide nor reorder.
 */

const TS_PATTERN = /^(\d{1,12})(?:\.(\d{1,6}))?$/;

/** Microseconds since the epoch, or undefined when `ts` is not a Slack timestamp. */
export function slackTsToMicros(ts: unknown): bigint | undefined {
  if (typeof ts !== 'string' && typeof ts !== 'number') return undefined;
  const match = TS_PATTERN.exec(String(ts));
  if (match === null) return undefined;
  const seconds = BigInt(match[1] ?? '0');
  const fraction = BigInt((match[2] ?? '').padEnd(6, '0'));
  return seconds * 1_000_000n + fraction;
}

/** The canonical string form (`seconds.micros`, six digits) used in keys. */
export function canonicalSlackTs(micros: bigint): string {
  const seconds = micros / 1_000_000n;
  const fraction = (micros % 1_000_000n).toString().padStart(6, '0');
  return `${seconds}.${fraction}`;
}

export function microsToMillis(micros: bigint): number {
  return Number(micros / 1000n);
}

/** Slack `created`/`last_set` fields: seconds as int or string; placeholders before 2013 are absent. */
export function slackSecondsToMillis(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isFinite(n)) return undefined;
  const ms = Math.trunc(n * 1000);
  return ms < Date.UTC(2013, 0, 1) ? undefined : ms;
}
