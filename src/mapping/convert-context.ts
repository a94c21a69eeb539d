/**
 * The contract of the Slack → Matrix text converters (slack-format.ts and the mrkdwn, rich-text,
 * blocks and mentions modules it uses): what they ask of the caller while converting one
 * message. Kept apart so that the converters depend on it and not on each other's entry points.
 */

/**
 * Looks up the Matrix side of Slack IDs and names. Implementations must not throw for unknown
 * IDs or names, and must answer synchronously (load what they need before converting).
 */
export interface MentionResolver {
  /** Slack user ID (U…/W…) → Matrix user ID and display name, or undefined if unknown. */
  user(slackUserId: string): { mxid: string; displayName: string } | undefined;
  /** Slack channel ID → a Matrix room alias/ID and name to link to, or undefined. */
  channel(slackChannelId: string): { target: string; name: string } | undefined;
  /**
   * A custom emoji name of the message's workspace (bare, no colons or skin tone, e.g.
   * `partyparrot`) → what it shows, or undefined when unknown (rendered `:name:`). Optional:
   * without it every custom emoji stays `:name:`. Only asked for names that are not standard
   * emoji.
   */
  customEmoji?(name: string): CustomEmoji | undefined;
}

/**
 * What a custom Slack emoji renders as (closed union):
 * - `image`: its image was uploaded; `mxc` must be an `mxc://` URI (anything else is rendered
 *   as `:name:`, never as an `<img>`);
 * - `alias`: it names a standard emoji; `shortcode` is that emoji's Slack short name
 *   (`thumbsup`, optionally with `::skin-tone-N`). A shortcode unknown to the emoji table
 *   renders as `:name:`.
 */
export type CustomEmoji = { kind: 'image'; mxc: string } | { kind: 'alias'; shortcode: string };

/** Per-message conversion state: the resolver and the users mentioned so far. */
export interface ConvertContext {
  resolver: MentionResolver;
  /** Matrix user IDs that received a pill, in first-mention order (a Set keeps it unique). */
  mentioned: Set<string>;
}
