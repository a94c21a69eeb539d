import { describe, expect, it } from 'vitest';
import {
  elementMediaKey,
  elementSourceKey,
  matrixEventKey,
  matrixMediaKey,
  matrixOrder,
  matrixRoomKey,
  matrixUserKey,
} from '../../../src/sources/element/element-keys.js';
import {
  isMatrixEventId,
  isMatrixUserId,
  isMxcUri,
  matrixLocalpart,
} from '../../../src/model/matrix-keys.js';

describe('Element and shared Matrix keys', () => {
  it('builds the keys every Matrix-origin adapter shares', () => {
    expect(matrixRoomKey('!abc:example.org')).toBe('matrix:!abc:example.org');
    expect(matrixEventKey('$Ev3nt')).toBe('matrix:$Ev3nt');
    expect(matrixUserKey('@Alice:example.org')).toBe('matrix:@Alice:example.org');
    expect(matrixMediaKey('mxc://example.org/abc')).toBe('mxc://example.org/abc');
    // Timestamp first, event ID as the tiebreak: two events of one millisecond stay distinct.
    expect(matrixOrder(1714557600000, '$b')).toBe('01714557600000000.$b');
    expect(matrixOrder(1714557600000, '$a') < matrixOrder(1714557600000, '$b')).toBe(true);
    expect(matrixOrder(1714557599999, '$z') < matrixOrder(1714557600000, '$a')).toBe(true);
  });

  it('builds the Element-only keys', () => {
    expect(elementSourceKey('!abc:example.org', 'Bob')).toBe('element:!abc:example.org:Bob');
    expect(elementSourceKey('!abc:example.org')).toBe('element:!abc:example.org');
    expect(elementMediaKey('!abc:example.org', 'root/files/a.txt')).toBe(
      'element:!abc:example.org:root/files/a.txt',
    );
  });

  it('recognises Matrix identifiers', () => {
    expect(isMatrixUserId('@alice:example.org')).toBe(true);
    expect(isMatrixUserId('alice')).toBe(false);
    expect(isMatrixUserId('@:example.org')).toBe(false);
    expect(isMatrixEventId('$abc')).toBe(true);
    expect(isMatrixEventId('abc')).toBe(false);
    expect(isMxcUri('mxc://example.org/abc')).toBe(true);
    expect(isMxcUri('https://example.org/abc')).toBe(false);
    expect(matrixLocalpart('@alice:example.org')).toBe('alice');
  });
});
