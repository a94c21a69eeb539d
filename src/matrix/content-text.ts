/** Rendering a model event's text (Slack, Matrix HTML or plain) into a body and optional HTML. */
import { escapeHtml, sanitizeMatrixHtml } from '../mapping/matrix-html.js';
import { slackMessageToMatrix, type MentionResolver } from '../mapping/slack-format.js';
import { assertNever } from '../model/events.js';
import type { FileEvent, MessageEvent, SourceText } from '../model/index.js';
import { rewriteMatrixToLinks } from './content-links.js';
import type { ContentContext } from './content-types.js';
import { ORPHAN_REPLY_PREFIX } from './content-types.js';

/** Plain body plus optional HTML (undefined when the text has no formatting). */
export interface RichText {
  body: string;
  html?: string;
}

export const HTML_FORMAT = 'org.matrix.custom.html';

export function renderSourceText(text: SourceText, ctx: ContentContext): RichText {
  switch (text.format) {
    case 'slack-mrkdwn': {
      const out = slackMessageToMatrix(
        { text: text.text, blocks: text.blocks, attachments: text.attachments },
        slackResolver(ctx),
      );
      return withHtml(out.body, out.formatted_body);
    }
    case 'matrix': {
      const isHtml = text.htmlFormat === undefined || text.htmlFormat === HTML_FORMAT;
      // Links are rewritten after sanitising: the sanitiser has decoded entities (`&#36;`) and
      // what is inserted is a room and event ID from the homeserver, escaped for HTML.
      const html =
        isHtml && text.formattedBody !== undefined
          ? rewriteMatrixToLinks(sanitizeMatrixHtml(text.formattedBody), ctx, escapeHtml)
          : undefined;
      return withHtml(
        rewriteMatrixToLinks(text.body, ctx, (s) => s),
        html,
      );
    }
    case 'plain':
      return { body: text.text };
    default:
      return assertNever(text);
  }
}

/**
 * The writer's resolver, with custom emoji it does not know falling back to `emojiAlias`, so
 * aliases show as their standard emoji in text as they do in reactions.
 */
function slackResolver(ctx: ContentContext): MentionResolver {
  const { mentions } = ctx;
  return {
    user: (id) => mentions.user(id),
    channel: (id) => mentions.channel(id),
    customEmoji: (name) => {
      const known = mentions.customEmoji?.(name);
      if (known !== undefined) return known;
      const alias = ctx.emojiAlias?.(name);
      return alias === undefined ? undefined : { kind: 'alias', shortcode: alias };
    },
  };
}

function withHtml(body: string, html: string | undefined): RichText {
  return html === undefined || html.trim() === '' ? { body } : { body, html };
}

export function isBlank(text: RichText): boolean {
  return text.body.trim() === '' && (text.html === undefined || text.html.trim() === '');
}

/** HTML for plain text: escaped, line breaks kept. */
export function plainToHtml(body: string): string {
  return escapeHtml(body).replace(/\n/g, '<br>');
}

function prefixText(text: RichText, body: string, html: string): RichText {
  return { body: body + text.body, html: html + (text.html ?? plainToHtml(text.body)) };
}

export function suffixText(text: RichText, body: string, html: string): RichText {
  return { body: text.body + body, html: (text.html ?? plainToHtml(text.body)) + html };
}

/** Bot name override first, then the orphan-thread note in front of everything. */
export function decorate(
  text: RichText,
  event: MessageEvent | FileEvent,
  ctx: ContentContext,
  orphan: boolean,
): RichText {
  let out = text;
  const name = event.senderNameOverride?.trim();
  if (name !== undefined && name !== '' && name !== ctx.displayNameOf(event.sender)) {
    out = prefixText(out, `${name}: `, `<strong>${escapeHtml(name)}</strong>: `);
  }
  if (orphan) {
    out = prefixText(
      out,
      ORPHAN_REPLY_PREFIX,
      `<em>${escapeHtml(ORPHAN_REPLY_PREFIX.trimEnd())}</em> `,
    );
  }
  return out;
}
