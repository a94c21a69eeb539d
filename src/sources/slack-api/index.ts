/** Entry point of the Slack Web API adapter (`ferry ingest slack-api`). */
export { SlackApiSource, type SlackApiSourceOptions } from './slack-api-source.js';
export type { SlackApiReport, SlackUnreadableReason } from './slack-api-report.js';
export { SLACK_TIER_LIMITS, SLACK_METHOD_TIERS, type SlackTier } from './pacer.js';
