import { describe, expect, it } from 'vitest';
import { mxcFromUrl } from '../../../src/sources/matrix-archive/media-url.js';

describe('mxcFromUrl', () => {
  it('rebuilds the mxc URI from the legacy download path (the host does not matter)', () => {
    expect(
      mxcFromUrl('https://matrix-client.matrix.org/_matrix/media/r0/download/matrix.org/AbCdEf'),
    ).toBe('mxc://matrix.org/AbCdEf');
    expect(
      mxcFromUrl('https://hs.example/_matrix/media/v3/download/other.org/X1?allow_remote=true'),
    ).toBe('mxc://other.org/X1');
    expect(mxcFromUrl('https://hs.example/_matrix/client/v1/media/download/other.org/X2')).toBe(
      'mxc://other.org/X2',
    );
  });

  it('keeps mxc URIs and gives up on other URLs', () => {
    expect(mxcFromUrl('mxc://matrix.org/AbCdEf')).toBe('mxc://matrix.org/AbCdEf');
    expect(mxcFromUrl('https://files.example.com/plan.pdf')).toBeUndefined();
    expect(mxcFromUrl('thumbnails/AbCdEf.jpeg')).toBeUndefined();
    expect(mxcFromUrl('ftp://x/_matrix/media/r0/download/a/b')).toBeUndefined();
  });
});
