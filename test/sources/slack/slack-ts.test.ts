import { describe, expect, it } from 'vitest';
import {
  canonicalSlackTs,
  microsToMillis,
  slackSecondsToMillis,
  slackTsToMicros,
} from '../../../src/sources/slack/slack-ts.js';

describe('Slack timestamps', () => {
  it('keep all six fractional digits', () => {
    expect(slackTsToMicros('1355517523.000005')).toBe(1355517523000005);
    expect(slackTsToMicros('1355517523.5')).toBe(1355517523500000);
    expect(slackTsToMicros('1355517523')).toBe(1355517523000000);
    expect(canonicalSlackTs(1355517523000005)).toBe('1355517523.000005');
    expect(microsToMillis(1355517523999999)).toBe(1355517523999);
  });

  it('reject what is not a Slack timestamp', () => {
    for (const bad of [
      '',
      'abc',
      '1.2.3',
      '-5.000001',
      '1355517523.0000001',
      '999999999999.999999', // beyond 2^53 µs: not exact as a number
      null,
      undefined,
      {},
    ]) {
      expect(slackTsToMicros(bad)).toBeUndefined();
    }
  });

  it('read `created` as int or string and drop placeholder dates', () => {
    expect(slackSecondsToMillis(1452837318)).toBe(1452837318000);
    expect(slackSecondsToMillis('1452837318')).toBe(1452837318000);
    expect(slackSecondsToMillis(1)).toBeUndefined();
    expect(slackSecondsToMillis('0')).toBeUndefined();
    expect(slackSecondsToMillis('x')).toBeUndefined();
  });
});
