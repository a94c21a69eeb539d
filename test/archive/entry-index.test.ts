import { describe, expect, it } from 'vitest';
import {
  checkEntryName,
  decodeCp437,
  decodeEntryName,
  detectRoot,
  isJunkPath,
  printableName,
} from '../../src/archive/entry-index.js';

describe('decodeEntryName', () => {
  it('decodes valid UTF-8 and normalises to NFC', () => {
    expect(decodeEntryName(Buffer.from('général/2020-01-01.json'))).toBe('général/2020-01-01.json');
    expect(decodeEntryName(Buffer.from('cafe\u0301.json'))).toBe('caf\u00e9.json');
    expect(decodeEntryName(Buffer.from('日本語/a.json'))).toBe('日本語/a.json');
  });

  it('falls back to CP437 for invalid UTF-8', () => {
    // 0x82 = é, 0x94 = ö, 0xE1 = ß in CP437.
    expect(decodeEntryName(Buffer.from([0x63, 0x61, 0x66, 0x82, 0x94, 0xe1]))).toBe('caféöß');
  });

  it('maps the whole high half of CP437', () => {
    const all = decodeCp437(Uint8Array.from({ length: 128 }, (_, i) => i + 0x80));
    expect([...all]).toHaveLength(128);
    expect(all.startsWith('ÇüéâäàåçêëèïîìÄÅ')).toBe(true);
    expect(all.endsWith('²■\u00a0')).toBe(true);
    expect(decodeCp437(Buffer.from('plain ascii'))).toBe('plain ascii');
  });
});

describe('checkEntryName', () => {
  it('accepts relative names and tidies them', () => {
    expect(checkEntryName('a/b.json')).toEqual({ kind: 'file', path: 'a/b.json' });
    expect(checkEntryName('./a//b.json')).toEqual({ kind: 'file', path: 'a/b.json' });
    expect(checkEntryName('a\\b.json')).toEqual({ kind: 'file', path: 'a/b.json' });
    expect(checkEntryName('a/')).toEqual({ kind: 'directory' });
    expect(checkEntryName('./')).toEqual({ kind: 'directory' });
    expect(checkEntryName('a..b/c..json')).toEqual({ kind: 'file', path: 'a..b/c..json' });
  });

  it.each([
    '../evil.json',
    'a/../../evil.json',
    '/abs.json',
    'C:/x.json',
    'c:x.json',
    '..\\evil.json',
    '\\\\server\\share\\x',
    '../',
  ])('rejects %s', (name) => {
    expect(checkEntryName(name)).toEqual({ kind: 'unsafe' });
  });
});

describe('isJunkPath', () => {
  it('flags __MACOSX anywhere and .DS_Store files', () => {
    expect(isJunkPath('__MACOSX/._channels.json')).toBe(true);
    expect(isJunkPath('wrap/__MACOSX/x')).toBe(true);
    expect(isJunkPath('general/.DS_Store')).toBe(true);
    expect(isJunkPath('general/2020-01-01.json')).toBe(false);
  });
});

describe('detectRoot', () => {
  const markers = ['channels.json', 'users.json'];
  it('keeps the top level when a marker is there', () => {
    expect(detectRoot(['channels.json', 'wrap/users.json'], markers)).toBe('');
  });
  it('unwraps exactly one candidate folder', () => {
    expect(detectRoot(['readme.txt', 'wrap/users.json', 'wrap/general/x.json'], markers)).toBe(
      'wrap/',
    );
  });
  it('does not guess between two candidates or look deeper than one level', () => {
    expect(detectRoot(['a/users.json', 'b/users.json'], markers)).toBe('');
    expect(detectRoot(['a/b/users.json'], markers)).toBe('');
    expect(detectRoot(['a/users.json'], [])).toBe('');
  });
});

describe('printableName', () => {
  it('escapes control characters', () => {
    expect(printableName('a\u0000b\nc')).toBe('a\\x00b\\x0ac');
  });
});
