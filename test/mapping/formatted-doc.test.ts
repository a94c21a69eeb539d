import { describe, expect, it } from 'vitest';
import {
  hasFormatting,
  renderHtml,
  renderPlain,
  textInlines,
  toBlocks,
  type Block,
} from '../../src/mapping/formatted-doc.js';

describe('renderHtml', () => {
  it('escapes link hrefs and text itself (independent of the sanitiser)', () => {
    const html = renderHtml([
      {
        kind: 'paragraph',
        children: [
          {
            kind: 'link',
            href: 'https://x.example/?a=1&b="2"',
            children: [{ kind: 'text', text: '<i>' }],
          },
        ],
      },
    ]);
    expect(html).toBe('<a href="https://x.example/?a=1&amp;b=&quot;2&quot;">&lt;i&gt;</a>');
  });

  it('degrades links with unsafe hrefs to their label', () => {
    const blocks: Block[] = [
      {
        kind: 'paragraph',
        children: [{ kind: 'link', href: 'javascript:x', children: textInlines('lbl') }],
      },
    ];
    expect(renderHtml(blocks)).toBe('lbl');
    expect(renderPlain(blocks)).toBe('lbl');
  });

  it('drops an unsafe code language class', () => {
    expect(renderHtml([{ kind: 'pre', text: 'x', language: '"><script>' }])).toBe(
      '<pre><code>x</code></pre>',
    );
  });

  it('separates adjacent paragraphs with <br>', () => {
    expect(
      renderHtml([
        { kind: 'paragraph', children: textInlines('a') },
        { kind: 'paragraph', children: textInlines('b') },
      ]),
    ).toBe('a<br>b');
  });
});

describe('renderPlain', () => {
  it('indents multi-line list items and prefixes empty quote lines', () => {
    expect(
      renderPlain([
        { kind: 'list', ordered: false, items: [{ children: textInlines('a\nb'), nested: [] }] },
        { kind: 'quote', children: [{ kind: 'paragraph', children: textInlines('q\n\nr') }] },
      ]),
    ).toBe('- a\n  b\n> q\n>\n> r');
  });
});

describe('toBlocks', () => {
  it('drops one line break on each side of a block', () => {
    const blocks = toBlocks([...textInlines('a\n'), { kind: 'rule' }, ...textInlines('\nb')]);
    expect(blocks).toEqual([
      { kind: 'paragraph', children: [{ kind: 'text', text: 'a' }] },
      { kind: 'rule' },
      { kind: 'paragraph', children: [{ kind: 'text', text: 'b' }] },
    ]);
  });
});

describe('hasFormatting', () => {
  it('is false for text and breaks only, true otherwise', () => {
    expect(hasFormatting([{ kind: 'paragraph', children: textInlines('a\nb') }])).toBe(false);
    expect(hasFormatting([{ kind: 'rule' }])).toBe(true);
    expect(hasFormatting([{ kind: 'paragraph', children: [{ kind: 'code', text: 'x' }] }])).toBe(
      true,
    );
  });
});

describe('emote (custom emoji image)', () => {
  const emote = (mxc: string, name = 'partyparrot'): Block[] => [
    {
      kind: 'paragraph',
      children: [
        { kind: 'text', text: 'a ' },
        { kind: 'emote', name, mxc },
      ],
    },
  ];

  it('renders an inline img with data-mx-emoticon in HTML and :name: in plain text', () => {
    expect(renderHtml(emote('mxc://hs/Abc'))).toBe(
      'a <img data-mx-emoticon src="mxc://hs/Abc" alt=":partyparrot:" title=":partyparrot:" height="32">',
    );
    expect(renderPlain(emote('mxc://hs/Abc'))).toBe('a :partyparrot:');
    expect(hasFormatting(emote('mxc://hs/Abc'))).toBe(true);
  });

  it('escapes the name and degrades a non-mxc source to :name:', () => {
    expect(renderHtml(emote('mxc://hs/Abc', '"x<'))).toContain('alt=":&quot;x&lt;:"');
    expect(renderHtml(emote('https://evil.example/x.png'))).toBe('a :partyparrot:');
    expect(renderHtml(emote('mxc://hs/a" onerror="x'))).toBe('a :partyparrot:');
  });
});
