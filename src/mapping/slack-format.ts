/**
 * Slack message content → Matrix `m.room.message` text content.
 *
 * This is the one entry point the importer uses for Slack text. It takes the raw (unvalidated)
 * `text`, `blocks` and `attachments` of a Slack message and returns the Matrix `body` /
 * `formatted_body` pair plus the Matrix users it mentioned. It does no I/O: Slack IDs are
 * resolved through the caller's `MentionResolver`.
 *
 * What is rendered:
 * - `blocks` when present and they yield anything visible (a `rich_text` block is the
 *   structured form of a human message; other block types come from bots, whose `text` is only
 *   a notification fallback); otherwise the mrkdwn `text`.
 * - then every legacy attachment, as a quote (its pretext above it).
 *
 * Rendering rules (see source-formats.md §1.10–§1.12):
 * - Slack's three entities are decoded once, after tokenising `<…>`; all text is HTML-escaped.
 * - `<@U…>` → a pill `<a href="https://matrix.to/#/@mxid">Display Name</a>` (recorded in
 *   `mentionedUserIds`); unknown users → `@label` or `@U…` as text.
 * - `<#C…>` → a matrix.to link labelled `#name`; unknown channels → `#label`/`#C…` as text.
 * - Broadcasts (`<!here>`, `<!channel>`, `<!everyone>`, `<!group>`) → the literal text
 *   `@here`/`@channel`/`@everyone`. Never `@room`: imported history must not ping anyone.
 * - `<!subteam^S…|@devs>` → `@devs`; `<!date^…|fallback>` → the fallback.
 * - Links keep only http(s)/mailto targets; anything else shows its label as text.
 * - `:shortcode:` → unicode emoji. Custom workspace emoji (mrkdwn `:name:`, rich-text `emoji`
 *   elements without `unicode`) go through the resolver's optional `customEmoji`: an uploaded
 *   image → an inline emote `<img data-mx-emoticon src="mxc://…" alt=":name:"
 *   title=":name:" height="32">` (`:name:` in `body`); an alias of a standard emoji → that
 *   emoji's unicode; anything else (or no `customEmoji`) stays `:name:`. Standard names win
 *   over custom ones (Slack does not allow a custom emoji to shadow a standard name).
 * - Code spans/blocks are verbatim (mentions inside are not converted).
 */
import { hasFormatting, isEmpty, renderHtml, renderPlain, type Block } from './formatted-doc.js';
import { sanitizeMatrixHtml } from './matrix-html.js';
import type { ConvertContext, MentionResolver } from './convert-context.js';

export type { CustomEmoji, MentionResolver } from './convert-context.js';
import { mrkdwnToBlocks } from './mrkdwn.js';
import { attachmentsToDoc, blocksToDoc } from './slack-blocks.js';

/** Text content for an `m.room.message` (`msgtype` is the caller's choice). */
export interface MatrixText {
  /**
   * Plain text: mentions as display names, links as `label (url)` or the URL, emoji as unicode,
   * custom emoji images as `:name:`.
   */
  body: string;
  /**
   * Sanitised HTML (Matrix spec allowlist). Present only when formatting adds something over
   * `body` — a message of plain text and line breaks has none.
   */
  formatted_body?: string;
  /** Set exactly when `formatted_body` is. */
  format?: 'org.matrix.custom.html';
  /**
   * Matrix user IDs that got a pill, unique, in first-mention order. Intended for
   * `m.mentions.user_ids` if the importer chooses to send intentional mentions.
   */
  mentionedUserIds: string[];
}

/**
 * Converts a Slack message's text parts. Input fields are the raw export values (`blocks` and
 * `attachments` may be `null` or malformed); never throws on malformed content.
 */
export function slackMessageToMatrix(
  input: { text?: string; blocks?: unknown; attachments?: unknown },
  resolver: MentionResolver,
): MatrixText {
  const ctx: ConvertContext = { resolver, mentioned: new Set() };
  let main: Block[] = blocksToDoc(input.blocks, ctx);
  if (isEmpty(main)) {
    ctx.mentioned.clear();
    main = typeof input.text === 'string' ? mrkdwnToBlocks(input.text, ctx) : [];
  }
  const doc = [...main, ...attachmentsToDoc(input.attachments, ctx)];

  const result: MatrixText = { body: renderPlain(doc), mentionedUserIds: [...ctx.mentioned] };
  if (hasFormatting(doc)) {
    result.formatted_body = sanitizeMatrixHtml(renderHtml(doc));
    result.format = 'org.matrix.custom.html';
  }
  return result;
}
