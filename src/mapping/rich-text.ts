/**
 * Slack `rich_text` blocks → document blocks (source-formats §1.11). Rich text is the
 * structured form of a human message: its `text` elements are NOT entity-escaped, styles are
 * explicit, and list nesting is expressed by consecutive `rich_text_list`s with growing
 * `indent`.
 */
import { emojiFromCodePoints, emojiFromShortcode } from './emoji.js';
import {
  assertNever,
  renderPlain,
  textInlines,
  toBlocks,
  type Block,
  type Inline,
  type InlineStyle,
} from './formatted-doc.js';
import { isSafeHref } from './matrix-html.js';
import { customEmojiInline } from './mrkdwn.js';
import {
  broadcastText,
  channelMention,
  dateText,
  userMention,
  type ConvertContext,
} from './mentions.js';
import { knownType, nonEmpty, num, rec, records, str, type JsonRecord } from './slack-json.js';

const CONTAINER_TYPES = [
  'rich_text_section',
  'rich_text_list',
  'rich_text_preformatted',
  'rich_text_quote',
] as const;

const ELEMENT_TYPES = [
  'text',
  'link',
  'user',
  'channel',
  'usergroup',
  'broadcast',
  'emoji',
  'date',
  'team',
  'color',
] as const;

type ListBlock = Extract<Block, { kind: 'list' }>;

/** Converts one `rich_text` block. Unknown containers/elements degrade to their text. */
export function richTextToBlocks(block: JsonRecord, ctx: ConvertContext): Block[] {
  const out: (Inline | Block)[] = [];
  // Open lists by indent, innermost last; any non-list container closes them all.
  let lists: { indent: number; list: ListBlock }[] = [];
  let previousWasSection = false;

  for (const container of records(block.elements)) {
    const type = knownType(container, CONTAINER_TYPES);
    if (type !== 'rich_text_list') lists = [];
    const isSection = type === 'rich_text_section' || type === undefined;
    // Sections are paragraphs; two in a row are separate lines.
    if (isSection && previousWasSection) out.push({ kind: 'break' });
    previousWasSection = isSection;

    switch (type) {
      case 'rich_text_section':
        out.push(...inlineElements(container.elements, ctx));
        break;
      case 'rich_text_list':
        addList(container, ctx, lists, out);
        break;
      case 'rich_text_preformatted': {
        const language = nonEmpty(container, 'language');
        out.push({
          kind: 'pre',
          text: preText(container.elements, ctx),
          ...(language ? { language } : {}),
        });
        break;
      }
      case 'rich_text_quote':
        out.push({ kind: 'quote', children: toBlocks(inlineElements(container.elements, ctx)) });
        break;
      case undefined:
        out.push(
          ...(Array.isArray(container.elements)
            ? inlineElements(container.elements, ctx)
            : degrade(container)),
        );
        break;
      default:
        assertNever(type);
    }
  }
  return toBlocks(out);
}

/**
 * Places a `rich_text_list` container: continues an open list at the same indent and style,
 * nests under the last item of a shallower list, or starts a new top-level list.
 */
function addList(
  container: JsonRecord,
  ctx: ConvertContext,
  lists: { indent: number; list: ListBlock }[],
  out: (Inline | Block)[],
): void {
  const indent = Math.max(0, Math.floor(num(container, 'indent') ?? 0));
  const ordered = str(container, 'style') === 'ordered';
  const items = records(container.elements).map((el) => ({
    // Items are rich_text_sections; tolerate a bare inline element too.
    children: Array.isArray(el.elements)
      ? inlineElements(el.elements, ctx)
      : inlineElement(el, ctx),
    nested: [] as Block[],
  }));

  while ((lists.at(-1)?.indent ?? -1) > indent) lists.pop();
  const top = lists.at(-1);
  if (top && top.indent === indent && top.list.ordered === ordered) {
    top.list.items.push(...items);
    return;
  }
  if (top && top.indent === indent) lists.pop(); // same depth, other style: a sibling list

  const offset = num(container, 'offset') ?? 0;
  const list: ListBlock = {
    kind: 'list',
    ordered,
    items,
    ...(ordered && offset > 0 ? { start: Math.floor(offset) + 1 } : {}),
  };
  const parent = lists.at(-1)?.list.items.at(-1);
  if (parent) parent.nested.push(list);
  else out.push(list);
  lists.push({ indent, list });
}

/** Code block text: the plain rendering of its elements, with no pills or mentions recorded. */
function preText(elements: unknown, ctx: ConvertContext): string {
  const quiet: ConvertContext = { resolver: ctx.resolver, mentioned: new Set() };
  return renderPlain(toBlocks(inlineElements(elements, quiet)));
}

function inlineElements(elements: unknown, ctx: ConvertContext): Inline[] {
  return records(elements).flatMap((el) => inlineElement(el, ctx));
}

function inlineElement(el: JsonRecord, ctx: ConvertContext): Inline[] {
  const type = knownType(el, ELEMENT_TYPES);
  switch (type) {
    case 'text': {
      // Whitespace at the edges of a styled run goes outside the markup (`<code> c</code>`).
      const [, lead = '', core = '', trail = ''] =
        /^(\s*)([\s\S]*?)(\s*)$/.exec(str(el, 'text') ?? '') ?? [];
      if (core === '') return textInlines(lead + trail);
      return [...textInlines(lead), ...styled(el, textInlines(core)), ...textInlines(trail)];
    }
    case 'link': {
      const url = str(el, 'url') ?? '';
      const label = textInlines(nonEmpty(el, 'text') ?? url);
      return styled(el, isSafeHref(url) ? [{ kind: 'link', href: url, children: label }] : label);
    }
    case 'user':
      return styled(el, [userMention(ctx, str(el, 'user_id') ?? 'unknown')]);
    case 'channel':
      return styled(el, [channelMention(ctx, str(el, 'channel_id') ?? 'unknown')]);
    case 'usergroup':
      return styled(el, [{ kind: 'text', text: '@usergroup' }]);
    case 'broadcast':
      return styled(el, [{ kind: 'text', text: broadcastText(str(el, 'range') ?? 'here') }]);
    case 'emoji':
      return styled(el, [emojiInline(el, ctx)]);
    case 'date':
      return styled(el, textInlines(dateText(num(el, 'timestamp'), nonEmpty(el, 'fallback'))));
    case 'team':
      return styled(el, textInlines(str(el, 'team_id') ?? ''));
    case 'color':
      return styled(el, textInlines(str(el, 'value') ?? ''));
    case undefined:
      return degrade(el);
    default:
      return assertNever(type);
  }
}

/**
 * Standard emoji carry `unicode` (hex code points); custom ones only a name, resolved through
 * `customEmoji` (image or alias), else shown as `:name:`.
 */
function emojiInline(el: JsonRecord, ctx: ConvertContext): Inline {
  const name = str(el, 'name') ?? '';
  const tone = num(el, 'skin_tone');
  const unicode = emojiFromCodePoints(str(el, 'unicode') ?? '');
  // The unicode field normally already includes the tone modifier; add it when it does not.
  if (unicode !== undefined && (tone === undefined || /[\u{1F3FB}-\u{1F3FF}]/u.test(unicode))) {
    return { kind: 'text', text: unicode };
  }
  const toned = tone !== undefined && !name.includes('::') ? `${name}::skin-tone-${tone}` : name;
  const standard = emojiFromShortcode(toned) ?? unicode;
  if (standard !== undefined) return { kind: 'text', text: standard };
  const base = name.replace(/::.*$/, '');
  return (
    (base === '' ? undefined : customEmojiInline(ctx, base)) ?? { kind: 'text', text: `:${toned}:` }
  );
}

/** Unknown element: its `text`, `fallback` or `name`, else nothing — never an error. */
function degrade(el: JsonRecord): Inline[] {
  const text = nonEmpty(el, 'text') ?? nonEmpty(el, 'fallback') ?? nonEmpty(el, 'name');
  return text === undefined ? [] : textInlines(text);
}

/** Applies a rich-text `style` object. `code` only applies to plain text runs. */
function styled(el: JsonRecord, inlines: Inline[]): Inline[] {
  const style = rec(el, 'style');
  if (!style || inlines.length === 0) return inlines;
  let result = inlines;
  if (style.code === true && result.every((i) => i.kind === 'text' || i.kind === 'break')) {
    result = [{ kind: 'code', text: renderPlain([{ kind: 'paragraph', children: result }]) }];
  }
  const order: InlineStyle[] = ['underline', 'strike', 'italic', 'bold'];
  for (const name of order) {
    if (style[name] === true) result = [{ kind: 'style', style: name, children: result }];
  }
  return result;
}
