/**
 * Converting Slack mentions and special commands into document inlines, shared by the mrkdwn
 * and rich-text converters so both render them identically.
 */
import type { Inline } from './formatted-doc.js';
import { matrixToLink } from './matrix-html.js';
import type { ConvertContext } from './convert-context.js';

export type { ConvertContext } from './convert-context.js';

/**
 * `<@U…>` / rich-text `user`: a pill when the resolver knows the user, otherwise plain text —
 * the Slack label (stale, but better than an ID) or `@U…`.
 */
export function userMention(ctx: ConvertContext, slackUserId: string, label?: string): Inline {
  const user = ctx.resolver.user(slackUserId);
  if (user) {
    ctx.mentioned.add(user.mxid);
    return { kind: 'pill', href: matrixToLink(user.mxid), name: user.displayName };
  }
  const text = label !== undefined && label.trim() !== '' ? label.trim() : slackUserId;
  return { kind: 'text', text: text.startsWith('@') ? text : `@${text}` };
}

/**
 * `<#C…|name>` / rich-text `channel`: a matrix.to link showing `#name` when the resolver knows
 * the channel, otherwise the text `#label` (or `#C…`).
 */
export function channelMention(
  ctx: ConvertContext,
  slackChannelId: string,
  label?: string,
): Inline {
  const channel = ctx.resolver.channel(slackChannelId);
  if (channel) {
    return {
      kind: 'link',
      href: matrixToLink(channel.target),
      children: [{ kind: 'text', text: `#${channel.name.replace(/^#/, '')}` }],
    };
  }
  const text = label !== undefined && label.trim() !== '' ? label.trim() : slackChannelId;
  return { kind: 'text', text: `#${text.replace(/^#/, '')}` };
}

/**
 * Slack broadcast ranges. They become literal text (`@here`, `@channel`, `@everyone`) that
 * notifies nobody — deliberately never `@room`, which would ping a whole Matrix room on import.
 * `group` is Slack's legacy synonym for `channel`.
 */
export function broadcastText(range: string): string {
  switch (range) {
    case 'here':
    case 'channel':
    case 'everyone':
      return `@${range}`;
    case 'group':
      return '@channel';
    default:
      return `@${range}`;
  }
}

/**
 * Renders a Slack date (`<!date^ts^format|fallback>`, rich-text `date`): the fallback when
 * present, else the timestamp as an ISO-8601 UTC string, else nothing.
 */
export function dateText(
  timestamp: string | number | undefined,
  fallback: string | undefined,
): string {
  if (fallback !== undefined && fallback !== '') return fallback;
  const seconds = Number(timestamp);
  if (timestamp === undefined || !Number.isFinite(seconds)) return '';
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString().replace('.000Z', 'Z');
}
