/**
 * HTML helpers for Matrix `formatted_body` (format `org.matrix.custom.html`): escaping,
 * matrix.to permalinks, link-scheme checks and the final allowlist sanitiser.
 *
 * HTML that ferry renders itself is built with `escapeHtml` everywhere; `sanitizeMatrixHtml` is
 * the second line of defence there, and the first for pass-through HTML (Element exports).
 */
import sanitizeHtml from 'sanitize-html';

/** Escapes text for use in HTML element content or a double-quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => HTML_ESCAPES[c] ?? c);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
};

/**
 * True when `url` may be used as a link target: only `http:`, `https:` and `mailto:` (case
 * insensitive). Everything else (`javascript:`, `data:`, `slack://`, relative and
 * protocol-relative URLs) is rejected, and callers render the label as plain text instead.
 */
export function isSafeHref(url: string): boolean {
  return /^(?:https?:\/\/[^\s]|mailto:[^\s])/i.test(url.trim());
}

/**
 * True when `uri` is a Matrix content URI `mxc://<server>/<media id>` (no query, fragment or
 * whitespace): the only image source a `formatted_body` may carry.
 */
export function isMxcUri(uri: string): boolean {
  return /^mxc:\/\/[\w.:[\]-]+\/[\w-]+$/.test(uri);
}

/**
 * A matrix.to permalink for a user ID (`@u:hs`), room alias (`#r:hs`) or room ID (`!id:hs`).
 * Percent-encodes the identifier except for the sigils and `:` that matrix.to links
 * conventionally keep readable (this is what Element produces).
 */
export function matrixToLink(id: string): string {
  const encoded = encodeURIComponent(id).replace(/%(40|3A|23|21)/gi, (_m, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
  return `https://matrix.to/#/${encoded}`;
}

/** Tags the Matrix spec (client-server API, m.room.message `formatted_body`) allows. */
export const MATRIX_ALLOWED_TAGS: readonly string[] = [
  'font',
  'del',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'blockquote',
  'p',
  'a',
  'ul',
  'ol',
  'sup',
  'sub',
  'li',
  'b',
  'i',
  'u',
  'strong',
  'em',
  'strike',
  'code',
  'hr',
  'br',
  'div',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'caption',
  'pre',
  'span',
  'img',
  'details',
  'summary',
];

const SANITIZE_OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [...MATRIX_ALLOWED_TAGS],
  allowedAttributes: {
    a: ['href'],
    img: ['data-mx-emoticon', 'src', 'alt', 'title', 'width', 'height'],
    ol: ['start'],
    font: ['data-mx-color', 'data-mx-bg-color'],
    span: ['data-mx-color', 'data-mx-bg-color'],
  },
  // Only `language-*` classes on <code> (allowedClasses works without listing `class` above).
  allowedClasses: { code: ['language-*'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['mxc'] },
  allowedSchemesAppliedToAttributes: ['href', 'src'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: {
    // sanitize-html lets relative URLs through; a relative link is meaningless in Matrix.
    a: (tagName, attribs) => {
      const { href, ...rest } = attribs;
      return {
        tagName,
        attribs: href !== undefined && isSafeHref(href) ? { ...rest, href } : rest,
      };
    },
    // Relative sources pass the scheme check; sizes must be plain numbers.
    img: (tagName, attribs) => ({
      tagName,
      attribs: Object.fromEntries(
        Object.entries(attribs).filter(([name, value]) => keepImgAttribute(name, value)),
      ),
    }),
  },
  // An image without an mxc source shows nothing: drop it.
  exclusiveFilter: (frame) => frame.tag === 'img' && frame.attribs.src === undefined,
};

function keepImgAttribute(name: string, value: string): boolean {
  switch (name) {
    case 'src':
      return isMxcUri(value);
    case 'width':
    case 'height':
      return /^\d{1,4}$/.test(value);
    default:
      return true; // the allowlist above decides
  }
}

/**
 * Sanitises HTML to the Matrix spec's allowlist: the tags above; `a[href]` (http, https, mailto
 * only); `img` only with an `mxc://` `src` (images without one are removed) plus
 * `data-mx-emoticon`, `alt`, `title` and numeric `width`/`height`; `ol[start]`,
 * `code[class=language-*]`,
 * `span`/`font[data-mx-color|data-mx-bg-color]`. Everything else (scripts, event handlers,
 * styles) is removed; the text content of removed non-script tags is kept.
 */
export function sanitizeMatrixHtml(html: string): string {
  return sanitizeHtml(html, SANITIZE_OPTIONS);
}
