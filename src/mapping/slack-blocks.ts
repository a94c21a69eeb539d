/**
 * Block Kit blocks (rich_text and bot layout blocks) and legacy `attachments[]` → document
 * blocks (source-formats §1.10–§1.11). Anything unrecognised degrades to the text it carries;
 * nothing here throws on odd input.
 */
import { assertNever, textInlines, toBlocks, type Block, type Inline } from './formatted-doc.js';
import { isSafeHref } from './matrix-html.js';
import type { ConvertContext } from './mentions.js';
import { mrkdwnToBlocks, plainTextInlines } from './mrkdwn.js';
import { richTextToBlocks } from './rich-text.js';
import { isRecord, knownType, nonEmpty, rec, records, str, type JsonRecord } from './slack-json.js';

/** Block Kit block types converted as such; others degrade to their text (`ferry report` counts those). */
export const BLOCK_TYPES = [
  'rich_text',
  'section',
  'context',
  'header',
  'divider',
  'image',
  'actions',
  'video',
  'markdown',
] as const;

/** Converts a message's `blocks[]` in order. */
export function blocksToDoc(blocks: unknown, ctx: ConvertContext): Block[] {
  return records(blocks).flatMap((block) => blockToDoc(block, ctx));
}

function blockToDoc(block: JsonRecord, ctx: ConvertContext): Block[] {
  const type = knownType(block, BLOCK_TYPES);
  switch (type) {
    case 'rich_text':
      return richTextToBlocks(block, ctx);
    case 'section':
      return [
        ...textObject(block.text, ctx),
        ...records(block.fields).flatMap((field) => textObject(field, ctx)),
      ];
    case 'context':
      return toBlocks(
        joinWith(
          records(block.elements).map((el) => contextElement(el, ctx)),
          ' ',
        ),
      );
    case 'header':
      return [{ kind: 'heading', children: textObjectInlines(block.text) }];
    case 'divider':
      return [{ kind: 'rule' }];
    case 'image': {
      const url = nonEmpty(block, 'image_url') ?? nonEmpty(rec(block, 'slack_file') ?? {}, 'url');
      const title = textObjectPlain(block.title) ?? nonEmpty(block, 'alt_text');
      return toBlocks(linkOrText(url, title ?? 'image'));
    }
    case 'actions':
      return toBlocks(joinWith(records(block.elements).map(actionElement), ' | '));
    case 'video': {
      const url = nonEmpty(block, 'title_url') ?? nonEmpty(block, 'video_url');
      return toBlocks(
        linkOrText(url, textObjectPlain(block.title) ?? nonEmpty(block, 'alt_text') ?? 'video'),
      );
    }
    case 'markdown':
      // Standard Markdown from AI/agent apps; shown as its source text rather than mis-parsed as mrkdwn.
      return toBlocks(textInlines(str(block, 'text') ?? ''));
    case undefined:
      return degradeBlock(block, ctx);
    default:
      return assertNever(type);
  }
}

/**
 * Converts `attachments[]`: each becomes its pretext (shown above the attachment, as Slack
 * does) followed by a quote with author, title (linked to `title_link`), text, fields
 * (`title: value`), image link, nested blocks and footer. When none of those is usable the
 * `fallback` is quoted instead.
 */
export function attachmentsToDoc(attachments: unknown, ctx: ConvertContext): Block[] {
  return records(attachments).flatMap((att) => attachmentToDoc(att, ctx));
}

function attachmentToDoc(att: JsonRecord, ctx: ConvertContext): Block[] {
  const body: Block[] = [];
  const author = nonEmpty(att, 'author_name') ?? nonEmpty(att, 'service_name');
  if (author !== undefined)
    body.push(...toBlocks(linkOrText(nonEmpty(att, 'author_link'), author)));
  const title = nonEmpty(att, 'title');
  if (title !== undefined) {
    const inner = linkOrText(nonEmpty(att, 'title_link'), title);
    body.push({ kind: 'paragraph', children: [{ kind: 'style', style: 'bold', children: inner }] });
  }
  const text = nonEmpty(att, 'text');
  if (text !== undefined) body.push(...mrkdwnToBlocks(text, ctx));
  for (const field of records(att.fields)) body.push(...attachmentField(field, ctx));
  const image = nonEmpty(att, 'image_url') ?? nonEmpty(att, 'thumb_url');
  if (image !== undefined && isSafeHref(image)) body.push(...toBlocks(linkOrText(image, image)));
  body.push(...blocksToDoc(att.blocks, ctx));
  if (text === undefined) {
    // Shared/forwarded messages carry the original message's blocks here.
    for (const shared of records(att.message_blocks)) {
      body.push(...blocksToDoc(rec(shared, 'message')?.blocks, ctx));
    }
  }

  const fallback = nonEmpty(att, 'fallback');
  if (body.length === 0 && fallback !== undefined) body.push(...mrkdwnToBlocks(fallback, ctx));
  // The footer alone is not a usable summary, so it is added after the fallback decision.
  const footer = nonEmpty(att, 'footer');
  if (footer !== undefined) body.push(...mrkdwnToBlocks(footer, ctx));

  const pretext = nonEmpty(att, 'pretext');
  return [
    ...(pretext === undefined ? [] : mrkdwnToBlocks(pretext, ctx)),
    ...(body.length === 0 ? [] : [{ kind: 'quote' as const, children: body }]),
  ];
}

/** `title: value`, title in bold; the value is mrkdwn. */
function attachmentField(field: JsonRecord, ctx: ConvertContext): Block[] {
  const title = nonEmpty(field, 'title');
  const value = nonEmpty(field, 'value');
  const valueBlocks = value === undefined ? [] : mrkdwnToBlocks(value, ctx);
  if (title === undefined) return valueBlocks;
  const label: Inline[] = [{ kind: 'style', style: 'bold', children: textInlines(title) }];
  const first = valueBlocks[0];
  if (first?.kind === 'paragraph') {
    return [
      { kind: 'paragraph', children: [...label, { kind: 'text', text: ': ' }, ...first.children] },
      ...valueBlocks.slice(1),
    ];
  }
  return [{ kind: 'paragraph', children: label }, ...valueBlocks];
}

/** Block Kit text object: `mrkdwn` is parsed, `plain_text` shown literally (with emoji). */
function textObject(obj: unknown, ctx: ConvertContext): Block[] {
  if (typeof obj === 'string') return mrkdwnToBlocks(obj, ctx);
  if (!isRecord(obj)) return [];
  const text = str(obj, 'text') ?? '';
  if (str(obj, 'type') === 'mrkdwn') return mrkdwnToBlocks(text, ctx);
  return toBlocks(plainTextInlines(text, obj.emoji !== false));
}

function textObjectInlines(obj: unknown): Inline[] {
  if (typeof obj === 'string') return plainTextInlines(obj);
  return isRecord(obj) ? plainTextInlines(str(obj, 'text') ?? '', obj.emoji !== false) : [];
}

function textObjectPlain(obj: unknown): string | undefined {
  if (typeof obj === 'string') return obj.trim() === '' ? undefined : obj;
  return isRecord(obj) ? nonEmpty(obj, 'text') : undefined;
}

function contextElement(el: JsonRecord, ctx: ConvertContext): (Inline | Block)[] {
  if (str(el, 'type') === 'image') {
    const alt = nonEmpty(el, 'alt_text');
    return alt === undefined ? [] : textInlines(alt);
  }
  return inlineParagraphs(textObject(el, ctx));
}

/** Unwraps paragraphs into their inlines (line breaks between them) so they can be joined. */
function inlineParagraphs(blocks: Block[]): (Inline | Block)[] {
  return blocks.flatMap((block, i): (Inline | Block)[] => {
    if (block.kind !== 'paragraph') return [block];
    return i > 0 && blocks[i - 1]?.kind === 'paragraph'
      ? [{ kind: 'break' }, ...block.children]
      : block.children;
  });
}

/** Buttons become links (when they have a safe URL) or their label; other inputs their text. */
function actionElement(el: JsonRecord): Inline[] {
  const label = textObjectPlain(el.text) ?? textObjectPlain(el.placeholder);
  return label === undefined ? [] : linkOrText(nonEmpty(el, 'url'), label);
}

/** Unknown block: its text object/string, fields, or `fallback`; else nothing. */
function degradeBlock(block: JsonRecord, ctx: ConvertContext): Block[] {
  const fromText = [
    ...textObject(block.text, ctx),
    ...records(block.fields).flatMap((f) => textObject(f, ctx)),
  ];
  if (fromText.length > 0) return fromText;
  const fallback =
    nonEmpty(block, 'fallback') ?? textObjectPlain(block.title) ?? textObjectPlain(block.label);
  return fallback === undefined ? [] : toBlocks(textInlines(fallback));
}

function linkOrText(url: string | undefined, label: string): Inline[] {
  const children = textInlines(label);
  return url !== undefined && isSafeHref(url) ? [{ kind: 'link', href: url, children }] : children;
}

/** Concatenates parts (dropping empty ones) with a text separator between them. */
function joinWith(parts: (Inline | Block)[][], separator: string): (Inline | Block)[] {
  return parts
    .filter((part) => part.length > 0)
    .flatMap((part, i) => (i === 0 ? part : [{ kind: 'text' as const, text: separator }, ...part]));
}
