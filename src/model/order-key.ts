/**
 * The ordering key of an event inside its room.
 *
 * Requirements: total (no two events of a room share one), stable (the same source event gets
 * the same key in every ingest) and sortable as a plain string (so the store can `ORDER BY`
 * it with the C collation and a B-tree index).
 *
 * Layout: `<17-digit microseconds since the epoch>.<tiebreak>`
 *
 * - Microseconds, not milliseconds: Slack `ts` carries six fractional digits, and several
 *   messages can fall into one millisecond. Matrix sources have millisecond timestamps and
 *   use `000` for the last three digits.
 * - The tiebreak orders events that share a microsecond. It is a short string chosen by the
 *   adapter: `0` for a Slack message (its `ts` is unique per channel), `1:<reaction>` for
 *   reactions derived from a message (they follow it), the event ID for Matrix events.
 */
import type { Brand } from './brand.js';

export type OrderKey = Brand<string, 'OrderKey'>;

const MICROS_WIDTH = 17;

/**
 * The `<17-digit microseconds>.` prefix of every order key of that microsecond. Microseconds
 * are a non-negative safe integer (up to 2^53, the year 2255); anything else is refused.
 */
export function orderKeyPrefix(micros: number): string {
  if (!Number.isSafeInteger(micros) || micros < 0)
    throw new RangeError(`timestamp ${micros} out of range`);
  return `${String(micros).padStart(MICROS_WIDTH, '0')}.`;
}

/** Builds an order key from microseconds since the epoch and a tiebreak. */
export function orderKeyFromMicros(micros: number, tiebreak: string): OrderKey {
  return `${orderKeyPrefix(micros)}${tiebreak}` as OrderKey;
}

/** Builds an order key from a millisecond timestamp (Matrix `origin_server_ts`). */
export function orderKeyFromMillis(ms: number, tiebreak: string): OrderKey {
  return orderKeyFromMicros(Math.trunc(ms) * 1000, tiebreak);
}

/** Milliseconds since the epoch encoded in an order key (what Matrix `ts` will be). */
export function orderKeyMillis(key: OrderKey): number {
  return Math.floor(Number(key.slice(0, MICROS_WIDTH)) / 1000);
}

/** Total order over keys of one room; equivalent to comparing the strings bytewise. */
export function compareOrderKeys(a: OrderKey, b: OrderKey): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
