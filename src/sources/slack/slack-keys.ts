/**
 * The only place Slack identifiers become model keys. Slack IDs are unique across
 * workspaces of an org, so keys need no team prefix: the same channel seen in two exports
 * (a Grid workspace export and the org export) is the same room.
 */
import {
  eventKey,
  mediaKey,
  orderKeyFromMicros,
  roomKey,
  sourceKey,
  userKey,
  type EventKey,
  type MediaKey,
  type OrderKey,
  type RoomKey,
  type SourceKey,
  type UserKey,
} from '../../model/index.js';
import { canonicalSlackTs } from './slack-ts.js';

export const slackSourceKey = (workspaceId: string): SourceKey => sourceKey(`slack:${workspaceId}`);
export const slackUserKey = (id: string): UserKey => userKey(`slack:${id}`);
/** Bots without a user ID are keyed by bot ID (`B…`) or, failing that, by their name. */
export const slackBotKey = (botIdOrName: string): UserKey => userKey(`slack:bot:${botIdOrName}`);
export const slackRoomKey = (conversationId: string): RoomKey => roomKey(`slack:${conversationId}`);
export const slackSpaceKey = (workspaceId: string): RoomKey =>
  roomKey(`slack:space:${workspaceId}`);
export const slackMediaKey = (fileId: string): MediaKey => mediaKey(`slack:${fileId}`);

export const slackMessageKey = (conversationId: string, micros: number): EventKey =>
  eventKey(`slack:${conversationId}:${canonicalSlackTs(micros)}`);

/** Events derived from one message share its key as a prefix. */
export const slackDerivedKey = (message: EventKey, suffix: string): EventKey =>
  eventKey(`${message}:${suffix}`);

/**
 * Tiebreaks inside one message's microsecond: the message itself, then its files, then the pin,
 * then reactions (see src/model/order-key.ts).
 */
export const slackOrder = {
  message: (micros: number): OrderKey => orderKeyFromMicros(micros, '0'),
  file: (micros: number, index: number): OrderKey =>
    orderKeyFromMicros(micros, `1:${String(index).padStart(3, '0')}`),
  pin: (micros: number): OrderKey => orderKeyFromMicros(micros, 'p'),
  reaction: (micros: number, name: string, user: string): OrderKey =>
    orderKeyFromMicros(micros, `r:${name}:${user}`),
};
