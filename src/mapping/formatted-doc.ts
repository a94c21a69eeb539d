/**
 * The small document model every Slack input (mrkdwn text, rich_text blocks, bot blocks, legacy
 * attachments) is converted into, and the two renderers that turn it into a Matrix message's
 * plain `body` and HTML `formatted_body`. Keeping one model means the plain and HTML forms can
 * never disagree about what a message says.
 *
 * All `text` fields hold final, decoded text (no Slack entities); renderers do the escaping.
 */
import { escapeHtml, isMxcUri, isSafeHref } from './matrix-html.js';

/** Inline content (a run inside a paragraph, list item, heading, …). */
export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'break' }
  | { kind: 'style'; style: InlineStyle; children: Inline[] }
  | { kind: 'code'; text: string }
  /** `href` must already have passed `isSafeHref`; the renderer re-checks and degrades. */
  | { kind: 'link'; href: string; children: Inline[] }
  /** A Matrix user pill; `href` is the matrix.to permalink, `name` the display name. */
  | { kind: 'pill'; href: string; name: string }
  /**
   * A custom emoji image shown inline (Matrix "emote"): `name` is the bare shortcode
   * (`partyparrot`), `mxc` its uploaded image. HTML `<img data-mx-emoticon src alt title
   * height="32">` with alt and title `:name:`; plain text `:name:`. An `mxc` that is not an
   * `mxc://` URI renders as the text `:name:` in HTML too.
   */
  | { kind: 'emote'; name: string; mxc: string };

export type InlineStyle = 'bold' | 'italic' | 'strike' | 'underline';

/** Block content. A message is a `Block[]`. */
export type Block =
  | { kind: 'paragraph'; children: Inline[] }
  | { kind: 'heading'; children: Inline[] }
  | { kind: 'pre'; text: string; language?: string }
  | { kind: 'quote'; children: Block[] }
  | { kind: 'list'; ordered: boolean; start?: number; items: ListItem[] }
  | { kind: 'rule' };

/** One list entry: its own line, then any lists nested under it. */
export interface ListItem {
  children: Inline[];
  nested: Block[];
}

// ---------------------------------------------------------------- helpers for converters

/** Text with `\n` split into `break` nodes. */
export function textInlines(text: string): Inline[] {
  const out: Inline[] = [];
  text.split('\n').forEach((line, i) => {
    if (i > 0) out.push({ kind: 'break' });
    if (line !== '') out.push({ kind: 'text', text: line });
  });
  return out;
}

/**
 * Groups a mixed run of inlines and blocks into blocks: consecutive inlines become a
 * paragraph. One line break directly before or after a block is dropped, because the block
 * boundary already implies it.
 */
export function toBlocks(items: (Inline | Block)[]): Block[] {
  const blocks: Block[] = [];
  let run: Inline[] = [];
  let afterBlock = false;
  const flush = (beforeBlock: boolean): void => {
    if (afterBlock && run[0]?.kind === 'break') run.shift();
    if (beforeBlock && run.at(-1)?.kind === 'break') run.pop();
    if (run.length > 0) blocks.push({ kind: 'paragraph', children: run });
    run = [];
  };
  for (const item of items) {
    if (isInline(item)) {
      run.push(item);
    } else {
      flush(true);
      blocks.push(item);
      afterBlock = true;
    }
  }
  flush(false);
  return blocks;
}

function isInline(item: Inline | Block): item is Inline {
  switch (item.kind) {
    case 'text':
    case 'break':
    case 'style':
    case 'code':
    case 'link':
    case 'pill':
    case 'emote':
      return true;
    case 'paragraph':
    case 'heading':
    case 'pre':
    case 'quote':
    case 'list':
    case 'rule':
      return false;
    default:
      return assertNever(item);
  }
}

export function assertNever(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}

/** True when the blocks carry nothing visible (only whitespace text and breaks). */
export function isEmpty(blocks: Block[]): boolean {
  return renderPlain(blocks).trim() === '';
}

/**
 * True when HTML would add something over the plain body: any node other than paragraphs of
 * text and line breaks.
 */
export function hasFormatting(blocks: Block[]): boolean {
  return blocks.some(
    (b) =>
      b.kind !== 'paragraph' || b.children.some((i) => i.kind !== 'text' && i.kind !== 'break'),
  );
}

// ---------------------------------------------------------------- HTML

export function renderHtml(blocks: Block[]): string {
  let html = '';
  blocks.forEach((block, i) => {
    // Adjacent paragraphs need an explicit break; real block elements separate themselves.
    if (i > 0 && block.kind === 'paragraph' && blocks[i - 1]?.kind === 'paragraph') html += '<br>';
    html += blockHtml(block);
  });
  return html;
}

function blockHtml(block: Block): string {
  switch (block.kind) {
    case 'paragraph':
      return inlinesHtml(block.children);
    case 'heading':
      return `<h3>${inlinesHtml(block.children)}</h3>`;
    case 'pre': {
      const lang =
        block.language !== undefined && /^[\w+#.-]+$/.test(block.language)
          ? ` class="language-${escapeHtml(block.language)}"`
          : '';
      return `<pre><code${lang}>${escapeHtml(block.text)}</code></pre>`;
    }
    case 'quote':
      return `<blockquote>${renderHtml(block.children)}</blockquote>`;
    case 'list': {
      const tag = block.ordered ? 'ol' : 'ul';
      const start =
        block.ordered && block.start !== undefined && block.start !== 1
          ? ` start="${block.start}"`
          : '';
      const items = block.items
        .map((item) => `<li>${inlinesHtml(item.children)}${renderHtml(item.nested)}</li>`)
        .join('');
      return `<${tag}${start}>${items}</${tag}>`;
    }
    case 'rule':
      return '<hr>';
    default:
      return assertNever(block);
  }
}

const STYLE_TAGS: Record<InlineStyle, string> = {
  bold: 'strong',
  italic: 'em',
  strike: 'del',
  underline: 'u',
};

function inlinesHtml(inlines: Inline[]): string {
  return inlines.map(inlineHtml).join('');
}

function inlineHtml(inline: Inline): string {
  switch (inline.kind) {
    case 'text':
      return escapeHtml(inline.text);
    case 'break':
      return '<br>';
    case 'style': {
      const tag = STYLE_TAGS[inline.style];
      return `<${tag}>${inlinesHtml(inline.children)}</${tag}>`;
    }
    case 'code':
      return `<code>${escapeHtml(inline.text)}</code>`;
    case 'link':
      return isSafeHref(inline.href)
        ? `<a href="${escapeHtml(inline.href)}">${inlinesHtml(inline.children)}</a>`
        : inlinesHtml(inline.children);
    case 'pill':
      return `<a href="${escapeHtml(inline.href)}">${escapeHtml(inline.name)}</a>`;
    case 'emote': {
      const label = escapeHtml(`:${inline.name}:`);
      return isMxcUri(inline.mxc)
        ? `<img data-mx-emoticon src="${escapeHtml(inline.mxc)}" alt="${label}" title="${label}" height="32">`
        : label;
    }
    default:
      return assertNever(inline);
  }
}

// ---------------------------------------------------------------- plain text

/**
 * Readable plain text: no emphasis markers, inline code in backticks, code blocks fenced with
 * ```, quotes prefixed `> `, lists as `- ` / `1. ` indented two spaces per level, links as
 * `label (url)` (or just the URL when the label is the URL), pills as the display name, emotes
 * as `:name:`.
 */
export function renderPlain(blocks: Block[]): string {
  return blocks.map(blockPlain).join('\n');
}

function blockPlain(block: Block): string {
  switch (block.kind) {
    case 'paragraph':
    case 'heading':
      return inlinesPlain(block.children);
    case 'pre':
      return '```\n' + block.text + '\n```';
    case 'quote':
      return renderPlain(block.children)
        .split('\n')
        .map((line) => (line === '' ? '>' : `> ${line}`))
        .join('\n');
    case 'list': {
      let n = block.start ?? 1;
      return block.items
        .map((item) => {
          const marker = block.ordered ? `${n++}. ` : '- ';
          const nested = renderPlain(item.nested);
          const own =
            marker +
            inlinesPlain(item.children)
              .split('\n')
              .join('\n' + ' '.repeat(marker.length));
          return nested === '' ? own : own + '\n' + nested.replace(/^/gm, '  ');
        })
        .join('\n');
    }
    case 'rule':
      return '---';
    default:
      return assertNever(block);
  }
}

function inlinesPlain(inlines: Inline[]): string {
  return inlines.map(inlinePlain).join('');
}

function inlinePlain(inline: Inline): string {
  switch (inline.kind) {
    case 'text':
      return inline.text;
    case 'break':
      return '\n';
    case 'style':
      return inlinesPlain(inline.children);
    case 'code':
      return '`' + inline.text + '`';
    case 'link': {
      const label = inlinesPlain(inline.children);
      if (!isSafeHref(inline.href)) return label === '' ? inline.href : label;
      if (label === '') return inline.href;
      if (!sameTarget(label, inline.href)) return `${label} (${inline.href})`;
      // The label already says where it goes: show the URL (linkifiable), or the bare address.
      return /^mailto:/i.test(inline.href) ? label : inline.href;
    }
    case 'pill':
      return inline.name;
    case 'emote':
      return `:${inline.name}:`;
    default:
      return assertNever(inline);
  }
}

/** `example.com` labels `http://example.com/`, `a@b.c` labels `mailto:a@b.c`, and so on. */
function sameTarget(label: string, href: string): boolean {
  const strip = (s: string): string =>
    s
      .trim()
      .replace(/^(?:https?:\/\/|mailto:)/i, '')
      .replace(/\/$/, '')
      .toLowerCase();
  return strip(label) === strip(href);
}
