/** Reactions → `m.reaction` annotations (unicode, `:name:`, or custom emoji images). */
import { emojiFromShortcode } from '../mapping/emoji.js';
import { assertNever } from '../model/events.js';
import type { ReactionEvent } from '../model/index.js';
import { provenance } from './content-draft.js';
import type { ContentContext, ContentOutcome } from './content-types.js';
import { PROVENANCE_KEY } from './content-types.js';

/**
 * No `m.mentions`: a reaction has no `body`, so no body-matching push rule can fire on it (and
 * Synapse's `.m.rule.reaction` never notifies), while every `m.mentions` costs Synapse a JSON
 * schema validation per event (BENCHMARKS.md, push: what costs Synapse).
 */
export function reactionToMatrix(event: ReactionEvent, ctx: ContentContext): ContentOutcome {
  const target = ctx.eventIdOf(event.target);
  if (target === undefined) return { outcome: 'skip', reason: 'reaction_target_missing' };
  const key = reactionKey(event.reaction, ctx);
  if (key === '') return { outcome: 'skip', reason: 'empty_content' };
  const image = key.startsWith(':') ? customImageKey(key.slice(1, -1), ctx) : undefined;
  const content = {
    'm.relates_to': { rel_type: 'm.annotation', event_id: target, key: image ?? key },
    ...(image === undefined ? {} : { 'com.beeper.reaction.shortcode': key }),
    [PROVENANCE_KEY]: provenance(event.key, 0),
  };
  return { outcome: 'send', sends: [{ kind: 'message', part: 0, type: 'm.reaction', content }] };
}

/** The uploaded image of a custom emoji, when image reactions are on. */
function customImageKey(name: string, ctx: ContentContext): string | undefined {
  if (ctx.imageReactions !== true) return undefined;
  const custom = ctx.mentions.customEmoji?.(name);
  return custom?.kind === 'image' ? custom.mxc : undefined;
}

/** Unicode for known Slack shortcodes (skin tones included), `:name:` for custom emoji. */
function reactionKey(reaction: ReactionEvent['reaction'], ctx: ContentContext): string {
  switch (reaction.format) {
    case 'slack-shortcode': {
      const name = reaction.name.trim().replace(/^:/, '').replace(/:$/, '');
      if (name === '') return '';
      const alias = ctx.emojiAlias?.(name);
      return (
        emojiFromShortcode(name) ??
        (alias === undefined ? undefined : emojiFromShortcode(alias)) ??
        `:${name}:`
      );
    }
    case 'unicode':
      return reaction.key;
    default:
      return assertNever(reaction);
  }
}
