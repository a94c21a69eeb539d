import { describe, expect, it } from 'vitest';
import { emojiFromCodePoints, emojiFromShortcode } from '../../src/mapping/emoji.js';

describe('emojiFromShortcode', () => {
  it.each([
    ['thumbsup', '\u{1F44D}'],
    ['+1', '\u{1F44D}'],
    ['face_with_rolling_eyes', '\u{1F644}'],
    ['man-facepalming', '\u{1F926}\u200D\u2642\uFE0F'],
    ['flag-us', '\u{1F1FA}\u{1F1F8}'],
  ])('resolves %s', (name, expected) => {
    expect(emojiFromShortcode(name)).toBe(expected);
  });

  it('applies skin tones (skin-tone-3 is U+1F3FC)', () => {
    expect(emojiFromShortcode('wave::skin-tone-3')).toBe('\u{1F44B}\u{1F3FC}');
    expect(emojiFromShortcode('+1::skin-tone-6')).toBe('\u{1F44D}\u{1F3FF}');
  });

  it('supports two-tone emoji', () => {
    expect(emojiFromShortcode('handshake::skin-tone-2-5')).toBe(
      '\u{1FAF1}\u{1F3FB}\u200D\u{1FAF2}\u{1F3FE}',
    );
  });

  it('falls back to the base emoji for a tone the emoji lacks', () => {
    expect(emojiFromShortcode('rocket::skin-tone-3')).toBe('\u{1F680}');
  });

  it('accepts surrounding colons', () => {
    expect(emojiFromShortcode(':tada:')).toBe('\u{1F389}');
  });

  it('returns undefined for unknown/custom names and object prototype keys', () => {
    expect(emojiFromShortcode('partyparrot')).toBeUndefined();
    expect(emojiFromShortcode('constructor')).toBeUndefined();
    expect(emojiFromShortcode('__proto__')).toBeUndefined();
    expect(emojiFromShortcode('partyparrot::skin-tone-2')).toBeUndefined();
  });
});

describe('emojiFromCodePoints', () => {
  it('joins hex code points', () => {
    expect(emojiFromCodePoints('1f44b-1f3fc')).toBe('\u{1F44B}\u{1F3FC}');
  });

  it('rejects malformed input', () => {
    expect(emojiFromCodePoints('')).toBeUndefined();
    expect(emojiFromCodePoints('zz')).toBeUndefined();
    expect(emojiFromCodePoints('110000')).toBeUndefined();
    expect(emojiFromCodePoints('d800')).toBeUndefined();
  });
});
