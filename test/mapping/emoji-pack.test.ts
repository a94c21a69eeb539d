import { describe, expect, it } from 'vitest';
import { buildEmojiPack, IMAGE_PACK_EVENT_TYPE } from '../../src/mapping/emoji-pack.js';
import { resolveEmojiAliases } from '../../src/sources/slack/enrichment/slack-enricher.js';

describe('buildEmojiPack', () => {
  it('builds im.ponies.room_emotes content, sorted, mxc only', () => {
    const content = buildEmojiPack(
      new Map([
        ['partyparrot', 'mxc://example.org/parrot'],
        ['+1_custom', 'mxc://example.org/plus'],
        ['failed', 'https://emoji.example/failed.png'],
      ]),
      'Acme emoji',
    );
    expect(IMAGE_PACK_EVENT_TYPE).toBe('im.ponies.room_emotes');
    expect(content).toEqual({
      images: {
        '+1_custom': { url: 'mxc://example.org/plus', body: ':+1_custom:' },
        partyparrot: { url: 'mxc://example.org/parrot', body: ':partyparrot:' },
      },
      pack: { display_name: 'Acme emoji', usage: ['emoticon', 'sticker'] },
    });
    expect(Object.keys(content.images)).toEqual(['+1_custom', 'partyparrot']);
    expect(buildEmojiPack(new Map(), 'x', 'mxc://a/b').pack.avatar_url).toBe('mxc://a/b');
  });
});

describe('resolveEmojiAliases', () => {
  it('follows chains, keeps aliases of standard emoji apart and drops loops', () => {
    const r = resolveEmojiAliases({
      a: 'https://e/a.png',
      b: 'alias:a',
      c: 'alias:b',
      std: 'alias:thumbsup',
      x: 'alias:y',
      y: 'alias:x',
      self: 'alias:self',
    });
    expect(Object.fromEntries(r.images)).toEqual({
      a: 'https://e/a.png',
      b: 'https://e/a.png',
      c: 'https://e/a.png',
    });
    expect(Object.fromEntries(r.standardAliases)).toEqual({ std: 'thumbsup' });
    expect(r.broken).toEqual(['self', 'x', 'y']);
  });
});
