/**
 * Slack mrkdwn (the entity-escaped `text` of messages, attachments and `mrkdwn` text objects)
 * → document blocks, via slack-message-parser's AST.
 *
 * Escaping rule (source-formats §1.12): Slack escapes only `&`, `<`, `>`. The parser tokenises
 * `<…>` sequences first; the three entities are then decoded exactly once per text run, so
 * `&amp;lt;` becomes the literal text `&lt;`.
 */
import { parse, NodeType, type Node } from 'slack-message-parser';
import { emojiFromShortcode } from './emoji.js';
import { assertNever, textInlines, toBlocks, type Block, type Inline } from './formatted-doc.js';
import { isMxcUri, isSafeHref } from './matrix-html.js';
import {
  broadcastText,
  channelMention,
  dateText,
  userMention,
  type ConvertContext,
} from './mentions.js';

/** Decodes Slack's three entities (`&amp;` `&lt;` `&gt;`) in one pass; nothing else. */
export function decodeSlackEntities(text: string): string {
  return text.replace(/&(amp|lt|gt);/g, (_m, name: string) =>
    name === 'amp' ? '&' : name === 'lt' ? '<' : '>',
  );
}

/** Converts mrkdwn text to blocks (paragraphs, quotes, code blocks). */
export function mrkdwnToBlocks(text: string, ctx: ConvertContext): Block[] {
  return toBlocks(parse(text).children.flatMap((node) => convertNode(node, ctx)));
}

/**
 * Plain text (Block Kit `plain_text`, which Slack shows literally: no entity decoding, no
 * mrkdwn) with `:shortcode:` emoji replaced unless `emoji` is false.
 */
export function plainTextInlines(text: string, emoji = true): Inline[] {
  const replaced = emoji
    ? text.replace(
        /:([a-z0-9_+'-]+):(?::(skin-tone-[2-6](?:-[2-6])?):)?/gi,
        (source, name: string, tone: string | undefined) =>
          emojiFromShortcode(tone === undefined ? name : `${name}::${tone}`) ?? source,
      )
    : text;
  return textInlines(replaced);
}

/** Top-level and quote content: quotes and code blocks are blocks, the rest is inline. */
function convertNode(node: Node, ctx: ConvertContext): (Inline | Block)[] {
  if (node.type === NodeType.PreText) {
    return [
      { kind: 'pre', text: decodeSlackEntities(node.text).replace(/^\n/, '').replace(/\n$/, '') },
    ];
  }
  if (node.type === NodeType.Quote) {
    const children = stripQuoteIndent(node.children.flatMap((n) => convertNode(n, ctx)));
    return [{ kind: 'quote', children: toBlocks(children) }];
  }
  return convertInline(node, ctx);
}

function convertInline(node: Node, ctx: ConvertContext): Inline[] {
  switch (node.type) {
    case NodeType.Text:
      return textInlines(decodeSlackEntities(node.text));
    case NodeType.Bold:
      return [{ kind: 'style', style: 'bold', children: inlineChildren(node.children, ctx) }];
    case NodeType.Italic:
      return [{ kind: 'style', style: 'italic', children: inlineChildren(node.children, ctx) }];
    case NodeType.Strike:
      return [{ kind: 'style', style: 'strike', children: inlineChildren(node.children, ctx) }];
    case NodeType.Code:
      // Code is taken verbatim: `<@U1>` inside stays literal text.
      return [{ kind: 'code', text: decodeSlackEntities(node.text) }];
    case NodeType.UserLink:
      return [userMention(ctx, node.userID, labelText(node.label))];
    case NodeType.ChannelLink:
      return [channelMention(ctx, node.channelID, labelText(node.label))];
    case NodeType.URL: {
      const url = decodeSlackEntities(node.url);
      const label: Inline[] = node.label
        ? inlineChildren(node.label, ctx)
        : [{ kind: 'text', text: url }];
      return isSafeHref(url) ? [{ kind: 'link', href: url, children: label }] : label;
    }
    case NodeType.Command:
      return textInlines(commandText(node.name, node.arguments, labelText(node.label)));
    case NodeType.Emoji: {
      const name = node.variation === undefined ? node.name : `${node.name}::${node.variation}`;
      const standard = emojiFromShortcode(name);
      if (standard !== undefined) return [{ kind: 'text', text: standard }];
      return [
        customEmojiInline(ctx, node.name) ?? {
          kind: 'text',
          text: decodeSlackEntities(node.source),
        },
      ];
    }
    case NodeType.PreText:
    case NodeType.Quote:
      // Only reachable inside labels/emphasis, where a block cannot go: keep the source text.
      return textInlines(decodeSlackEntities(node.source));
    case NodeType.Root:
      return inlineChildren(node.children, ctx);
    default:
      return assertNever(node);
  }
}

/**
 * A name that is not a standard emoji, through the resolver's `customEmoji`: its uploaded image
 * (an `emote`), the unicode of the standard emoji it aliases, or undefined when neither (the
 * caller keeps the source text). Shared with the rich-text converter.
 */
export function customEmojiInline(ctx: ConvertContext, name: string): Inline | undefined {
  const custom = ctx.resolver.customEmoji?.(name);
  if (custom === undefined) return undefined;
  switch (custom.kind) {
    case 'image':
      return isMxcUri(custom.mxc) ? { kind: 'emote', name, mxc: custom.mxc } : undefined;
    case 'alias': {
      const unicode = emojiFromShortcode(custom.shortcode);
      return unicode === undefined ? undefined : { kind: 'text', text: unicode };
    }
    default:
      return assertNever(custom);
  }
}

/** `<!…>` commands: broadcasts, user groups, dates; unknown ones show their label or `<name>`. */
function commandText(name: string, args: string[], label: string | undefined): string {
  switch (name) {
    case 'here':
    case 'channel':
    case 'everyone':
    case 'group':
      return broadcastText(name);
    case 'subteam': {
      const handle = label ?? 'usergroup';
      return handle.startsWith('@') ? handle : `@${handle}`;
    }
    case 'date':
      return dateText(args[0], label);
    default:
      return label ?? `<${[name, ...args].join('^')}>`;
  }
}

function inlineChildren(nodes: Node[], ctx: ConvertContext): Inline[] {
  return nodes.flatMap((node) => convertInline(node, ctx));
}

/** A label's text (labels of mentions and commands are shown as plain text). */
function labelText(label: Node[] | undefined): string | undefined {
  if (label === undefined) return undefined;
  const text = decodeSlackEntities(label.map((n) => n.source).join(''));
  return text === '' ? undefined : text;
}

/** Drops the single space after each line's `>` marker. */
function stripQuoteIndent(items: (Inline | Block)[]): (Inline | Block)[] {
  return items
    .map((item, i) => {
      const lineStart = i === 0 || items[i - 1]?.kind === 'break';
      return lineStart && item.kind === 'text'
        ? { ...item, text: item.text.replace(/^ /, '') }
        : item;
    })
    .filter((item) => item.kind !== 'text' || item.text !== '');
}
