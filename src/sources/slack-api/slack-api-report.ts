/** What `ferry ingest slack-api` reports beyond the ingest summary (the `api` key of --json). */

/** Why a conversation (or a whole method) could not be read; counted, never a failure. */
export type SlackUnreadableReason =
  'missing_scope' | 'not_in_channel' | 'channel_not_found' | 'access_denied' | 'other';

export interface SlackApiReport {
  team_id: string;
  enterprise_id: string | null;
  team_name: string;
  conversations: {
    listed: number;
    read: number;
    unreadable: Partial<Record<SlackUnreadableReason, number>>;
  };
  /** Conversations (or `method` calls) that could not be read, with the reason and Slack's code. */
  unreadable: {
    conversation: string;
    method: string;
    reason: SlackUnreadableReason;
    error: string;
  }[];
  /** Scopes Slack said were needed (`needed` of missing_scope answers). */
  missing_scopes: string[];
  /** Messages read (history and thread replies, before mapping). */
  messages: number;
  /** conversations.replies threads read. */
  threads: number;
  /** Files recorded; their bodies are downloaded by `ferry push --download-media`. */
  files: number;
  /** Custom emoji listed (null when emoji.list could not be read). */
  emoji: number | null;
  /** Requests by method. */
  requests: Record<string, number>;
  /** 429 answers waited out (Retry-After). */
  rate_limited: number;
  /**
   * Pages cut at 15 messages with has_more although 999 were asked: the token belongs to a
   * commercially distributed app that is not on the Slack Marketplace, which Slack limits to 1
   * request a minute and 15 messages per page for conversations.history/replies.
   */
  limited_app: boolean;
}

export function unreadableReason(code: string): SlackUnreadableReason {
  switch (code) {
    case 'missing_scope':
    case 'not_in_channel':
    case 'channel_not_found':
      return code;
    case 'access_denied':
    case 'not_allowed':
    case 'restricted_action':
      return 'access_denied';
    default:
      return 'other';
  }
}
