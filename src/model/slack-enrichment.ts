/**
 * What `ferry enrich slack` learns from the Slack Web API that an export does not hold: users'
 * contact details and the workspace's custom emoji. Produced by the enricher
 * (src/sources/slack/enrichment), kept by the store (src/store/slack-enrichment.ts), used by
 * identity mapping and push.
 */

/** One user's contact details from `users.list` (needs `users:read.email` for the email). */
export interface SlackUserContact {
  email?: string;
  realName?: string;
}

export interface SlackCustomEmoji {
  /** Custom name → image URL; aliases to custom emoji are resolved to the target's image. */
  images: Map<string, string>;
  /** Custom name → standard shortcode, for aliases of built-in emoji (`alias:thumbsup`). */
  standardAliases: Map<string, string>;
  /** Aliases whose chain ends nowhere or loops; dropped. */
  broken: string[];
}
