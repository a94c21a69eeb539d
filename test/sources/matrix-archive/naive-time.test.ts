import { describe, expect, it } from 'vitest';
import { FerryError } from '../../../src/errors.js';
import { parseIsoTime, zoneResolver } from '../../../src/sources/matrix-archive/naive-time.js';

const wall = (...f: [number, number, number, number, number, number?, number?]) => Date.UTC(...f);

describe('parseIsoTime', () => {
  it('reads Python isoformat with and without a fraction as wall-clock time', () => {
    expect(parseIsoTime('2018-07-23T14:05:12.345000')).toEqual({
      millis: wall(2018, 6, 23, 14, 5, 12, 345),
      zoned: false,
    });
    expect(parseIsoTime('2018-07-23T14:05:12')).toEqual({
      millis: wall(2018, 6, 23, 14, 5, 12),
      zoned: false,
    });
    expect(parseIsoTime('2018-07-23 14:05:12.3')?.millis).toBe(wall(2018, 6, 23, 14, 5, 12, 300));
    // Microseconds are truncated, not rounded.
    expect(parseIsoTime('2018-07-23T14:05:12.999999')?.millis).toBe(
      wall(2018, 6, 23, 14, 5, 12, 999),
    );
  });

  it('takes an explicit zone designator as an instant', () => {
    expect(parseIsoTime('2018-07-23T14:05:12.345Z')).toEqual({
      millis: wall(2018, 6, 23, 14, 5, 12, 345),
      zoned: true,
    });
    expect(parseIsoTime('2018-07-23T14:05:12+02:00')?.millis).toBe(wall(2018, 6, 23, 12, 5, 12));
    expect(parseIsoTime('2018-07-23T14:05:12-0130')?.millis).toBe(wall(2018, 6, 23, 15, 35, 12));
  });

  it('refuses what is not a time', () => {
    expect(parseIsoTime('yesterday')).toBeUndefined();
    expect(parseIsoTime('2018-07-23')).toBeUndefined();
  });
});

describe('zoneResolver', () => {
  it('is the identity for UTC', () => {
    expect(zoneResolver('UTC')(wall(2018, 6, 23, 14, 0, 0))).toBe(wall(2018, 6, 23, 14, 0, 0));
  });

  it('subtracts the offset in force at that wall time', () => {
    const berlin = zoneResolver('Europe/Berlin');
    expect(berlin(wall(2018, 6, 23, 14, 5, 12, 345))).toBe(wall(2018, 6, 23, 12, 5, 12, 345));
    expect(berlin(wall(2018, 11, 24, 10, 30, 0, 250))).toBe(wall(2018, 11, 24, 9, 30, 0, 250));
    const newYork = zoneResolver('America/New_York');
    expect(newYork(wall(2018, 0, 1, 12, 0, 0))).toBe(wall(2018, 0, 1, 17, 0, 0));
    const kolkata = zoneResolver('Asia/Kolkata');
    expect(kolkata(wall(2018, 0, 1, 12, 0, 0))).toBe(wall(2018, 0, 1, 6, 30, 0));
  });

  it('resolves the repeated hour to its first occurrence and the skipped hour forwards', () => {
    const berlin = zoneResolver('Europe/Berlin');
    // 2018-10-28 02:30 happened twice (CEST, then CET): the first is 00:30Z.
    expect(berlin(wall(2018, 9, 28, 2, 30, 0))).toBe(wall(2018, 9, 28, 0, 30, 0));
    // 2018-03-25 02:30 never happened; read with the winter offset → 01:30Z (03:30 CEST).
    expect(berlin(wall(2018, 2, 25, 2, 30, 0))).toBe(wall(2018, 2, 25, 1, 30, 0));
    // Either side of the transitions.
    expect(berlin(wall(2018, 2, 25, 1, 59, 59))).toBe(wall(2018, 2, 25, 0, 59, 59));
    expect(berlin(wall(2018, 2, 25, 3, 0, 0))).toBe(wall(2018, 2, 25, 1, 0, 0));
    expect(berlin(wall(2018, 9, 28, 3, 0, 0))).toBe(wall(2018, 9, 28, 2, 0, 0));
  });

  it('rejects names that are not IANA zones, naming the option', () => {
    expect(() => zoneResolver('Berlin/Europe')).toThrow(FerryError);
    expect(() => zoneResolver('Berlin/Europe')).toThrow(/timezone/);
  });
});
