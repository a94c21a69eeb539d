/**
 * matrix-archive keeps times as naive wall-clock values: the JSON/YAML exports write
 * `datetime.isoformat()` without a zone, and MongoDB holds the same naive value stored as if it
 * were UTC (source-formats.md §3.2). Both mean "local time of the machine that ran the
 * importer"; these helpers turn such a value back into an instant, given that machine's zone.
 */
import { FerryError } from '../../errors.js';

/**
 * A naive time is carried as "wall-clock milliseconds": `Date.UTC` of its calendar fields.
 * Converts it to epoch milliseconds in an IANA zone.
 */
export type ZoneResolver = (wallMillis: number) => number;

const DAY = 86_400_000;

/** Validates `zone` (throws config_invalid naming the option) and returns its resolver. */
export function zoneResolver(zone: string, option = 'timezone'): ZoneResolver {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch (e) {
    throw new FerryError(
      'config_invalid',
      `${option}: ${JSON.stringify(zone)} is not an IANA time zone name (e.g. "UTC", "Europe/Berlin")`,
      { cause: e },
    );
  }
  if (format.resolvedOptions().timeZone === 'UTC') return (wall) => wall;

  /** Offset of the zone at an instant: wall clock there minus the instant. */
  const offsetAt = (instant: number): number => {
    const fields: Record<string, number> = {};
    for (const part of format.formatToParts(new Date(instant))) {
      if (part.type !== 'literal') fields[part.type] = Number(part.value);
    }
    const wall = Date.UTC(
      fields.year ?? 1970,
      (fields.month ?? 1) - 1,
      fields.day ?? 1,
      fields.hour ?? 0,
      fields.minute ?? 0,
      fields.second ?? 0,
    );
    return wall - (instant - (((instant % 1000) + 1000) % 1000));
  };

  return (wall) => {
    // Offsets a day either side cover any transition near `wall`. An ambiguous time (the hour
    // repeated when clocks go back) resolves to its first occurrence; a time that does not exist
    // (clocks going forward; Python never produced one) is read with the offset before the gap.
    const before = offsetAt(wall - DAY);
    const candidates = [before, offsetAt(wall), offsetAt(wall + DAY)]
      .map((offset) => wall - offset)
      .filter((instant) => offsetAt(instant) === wall - instant);
    return candidates.length > 0 ? Math.min(...candidates) : wall - before;
  };
}

/**
 * Parses `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]` with an optional zone designator. Without one the
 * result is wall-clock milliseconds (`zoned: false`); with `Z` or `±HH[:]MM` it is an instant.
 * Fractions beyond milliseconds are truncated (Python writes microseconds).
 */
export function parseIsoTime(text: string): { millis: number; zoned: boolean } | undefined {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
      text.trim(),
    );
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  const wall = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s ?? 0),
    ms,
  );
  if (!Number.isFinite(wall)) return undefined;
  if (zone === undefined) return { millis: wall, zoned: false };
  if (zone.toUpperCase() === 'Z') return { millis: wall, zoned: true };
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0')) * 60_000;
  return { millis: wall - sign * offset, zoned: true };
}
