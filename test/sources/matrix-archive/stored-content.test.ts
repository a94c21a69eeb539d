import { describe, expect, it } from 'vitest';
import {
  plainExtendedJson,
  unmangleKeys,
} from '../../../src/sources/matrix-archive/stored-content.js';

describe('unmangleKeys', () => {
  it('restores every dot of every key, recursively, leaving values alone', () => {
    expect(
      unmangleKeys({
        body: 'm•text stays',
        'm•relates_to': { 'm•in_reply_to': { event_id: '$a' } },
        'org•example•custom': 1,
      }),
    ).toEqual({
      body: 'm•text stays',
      'm.relates_to': { 'm.in_reply_to': { event_id: '$a' } },
      'org.example.custom': 1,
    });
  });

  it('also repairs objects found inside lists', () => {
    expect(unmangleKeys({ list: [{ 'a•b': ['x•y'] }, 3] })).toEqual({
      list: [{ 'a.b': ['x•y'] }, 3],
    });
  });
});

describe('plainExtendedJson', () => {
  it('unwraps number and ObjectId wrappers, nowhere else', () => {
    expect(
      plainExtendedJson({
        info: { size: { $numberInt: '52311' }, duration: { $numberLong: '9000' } },
        ratio: { $numberDouble: '1.5' },
        id: { $oid: '5b55' },
        other: { $numberInt: '1', extra: true },
        list: [{ $numberInt: '2' }],
      }),
    ).toEqual({
      info: { size: 52311, duration: 9000 },
      ratio: 1.5,
      id: '5b55',
      other: { $numberInt: '1', extra: true },
      list: [2],
    });
  });
});
