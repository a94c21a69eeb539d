import { describe, expect, it } from 'vitest';
import {
  compareOrderKeys,
  orderKeyFromMicros,
  orderKeyFromMillis,
  orderKeyMillis,
} from '../../src/model/index.js';

describe('order keys', () => {
  it('sort as strings exactly as their timestamps, then their tiebreak', () => {
    const keys = [
      orderKeyFromMicros(1709251300000301, '0'),
      orderKeyFromMicros(1709251300000300, 'r:tada:U1'),
      orderKeyFromMicros(1709251300000300, '0'),
      orderKeyFromMicros(999999999, '0'),
      orderKeyFromMillis(1709251300000, '$b'),
      orderKeyFromMillis(1709251300000, '$a'),
    ];
    const sorted = [...keys].sort(compareOrderKeys);
    expect(sorted).toEqual([keys[3], keys[5], keys[4], keys[2], keys[1], keys[0]]);
    expect([...keys].sort()).toEqual(sorted);
  });

  it('give back the millisecond timestamp', () => {
    expect(orderKeyMillis(orderKeyFromMicros(1709251300000301, '0'))).toBe(1709251300000);
    expect(orderKeyMillis(orderKeyFromMillis(42, 'x'))).toBe(42);
  });

  it('refuse timestamps they cannot order', () => {
    expect(() => orderKeyFromMicros(-1, '0')).toThrow(RangeError);
    expect(() => orderKeyFromMicros(2 ** 53, '0')).toThrow(RangeError);
  });
});
