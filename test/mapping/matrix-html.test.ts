import { describe, expect, it } from 'vitest';
import {
  escapeHtml,
  isSafeHref,
  matrixToLink,
  sanitizeMatrixHtml,
} from '../../src/mapping/matrix-html.js';

describe('escapeHtml', () => {
  it('escapes &, <, > and "', () => {
    expect(escapeHtml('a & <b> "c"')).toBe('a &amp; &lt;b&gt; &quot;c&quot;');
  });
});

describe('isSafeHref', () => {
  it.each(['https://example.com', 'http://x.y/z', 'mailto:a@b.c', 'HTTPS://EXAMPLE.COM'])(
    'accepts %s',
    (url) => expect(isSafeHref(url)).toBe(true),
  );
  it.each([
    'javascript:alert(1)',
    'data:text/html,x',
    'slack://open',
    '/relative',
    '//evil.com',
    'https://',
  ])('rejects %s', (url) => expect(isSafeHref(url)).toBe(false));
});

describe('matrixToLink', () => {
  it('keeps sigils and colons readable', () => {
    expect(matrixToLink('@ada:example.org')).toBe('https://matrix.to/#/@ada:example.org');
    expect(matrixToLink('#general:example.org')).toBe('https://matrix.to/#/#general:example.org');
    expect(matrixToLink('!abc:example.org')).toBe('https://matrix.to/#/!abc:example.org');
  });

  it('percent-encodes characters that would break the URL', () => {
    expect(matrixToLink('#a b/c?:x')).toBe('https://matrix.to/#/#a%20b%2Fc%3F:x');
  });
});

describe('sanitizeMatrixHtml', () => {
  it('removes scripts, event handlers and disallowed tags', () => {
    const out = sanitizeMatrixHtml(
      '<script>alert(1)</script><img src="x" onerror="alert(1)"><b onclick="x">b</b><iframe></iframe>',
    );
    expect(out).not.toMatch(/script|onerror|onclick|iframe|alert/);
    expect(out).toContain('<b>b</b>');
  });

  it('keeps only http(s)/mailto hrefs and drops relative ones', () => {
    const out = sanitizeMatrixHtml(
      '<a href="javascript:alert(1)">j</a><a href="/rel">r</a><a href="https://ok" target="_blank">o</a>',
    );
    expect(out).toBe('<a>j</a><a>r</a><a href="https://ok">o</a>');
  });

  it('allows img only with mxc sources', () => {
    expect(sanitizeMatrixHtml('<img src="mxc://hs/abc">')).toContain('src="mxc://hs/abc"');
    expect(sanitizeMatrixHtml('<img src="https://tracker/x.png">')).not.toContain('tracker');
  });

  it('keeps custom emoji images: mxc src, data-mx-emoticon, alt, title, numeric sizes', () => {
    const emote =
      '<img data-mx-emoticon src="mxc://ferry.test/Parrot42" alt=":partyparrot:" title=":partyparrot:" height="32" />';
    expect(sanitizeMatrixHtml(emote)).toBe(emote);
    expect(sanitizeMatrixHtml('<img src="mxc://hs/a" width="16" height="32px" style="x">')).toBe(
      '<img src="mxc://hs/a" width="16" />',
    );
  });

  it('removes images without an mxc source, relative ones included', () => {
    expect(sanitizeMatrixHtml('a<img src="/rel.png" alt="r">b')).toBe('ab');
    expect(sanitizeMatrixHtml('<img src="https://tracker/x.png" alt="t">')).toBe('');
    expect(sanitizeMatrixHtml('<img alt="none"><img src="mxc://hs/a?x=1">')).toBe('');
    expect(sanitizeMatrixHtml('<img src="javascript:alert(1)">')).toBe('');
  });

  it('allows ol[start], code[class=language-*] and data-mx-color', () => {
    expect(sanitizeMatrixHtml('<ol start="3" type="a"></ol>')).toBe('<ol start="3"></ol>');
    expect(sanitizeMatrixHtml('<code class="language-js evil">x</code>')).toBe(
      '<code class="language-js">x</code>',
    );
    expect(sanitizeMatrixHtml('<span data-mx-color="#ff0000" style="x">r</span>')).toBe(
      '<span data-mx-color="#ff0000">r</span>',
    );
  });
});
