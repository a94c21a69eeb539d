/** Threads and replies: the relations of a message or file, to events already sent. */
import type { FileEvent, MessageEvent } from '../model/index.js';
import type { ContentContext } from './content-types.js';

export interface Relations {
  /** `m.relates_to` of part 0. */
  first?: Record<string, unknown>;
  /** `m.relates_to` of later parts: the thread relation only (replies are not repeated). */
  rest?: Record<string, unknown>;
  /** In a thread whose root was never sent: rendered unthreaded with a visible note. */
  orphan: boolean;
}

export function relationsOf(event: MessageEvent | FileEvent, ctx: ContentContext): Relations {
  const replyTarget = event.replyTo === undefined ? undefined : ctx.eventIdOf(event.replyTo);
  const reply =
    replyTarget === undefined ? undefined : { 'm.in_reply_to': { event_id: replyTarget } };
  const thread = event.thread;
  // A root never relates to itself (Synapse refuses threads rooted on a relation).
  if (thread === undefined || thread.root === event.key) return { first: reply, orphan: false };

  const rootId = ctx.eventIdOf(thread.root);
  if (rootId === undefined) return { first: reply, orphan: true };

  const fallback = {
    rel_type: 'm.thread',
    event_id: rootId,
    is_falling_back: true,
    'm.in_reply_to': { event_id: ctx.latestInThread(thread.root) ?? rootId },
  };
  // A genuine reply inside a thread: no is_falling_back, in_reply_to is the replied-to event.
  const first =
    replyTarget === undefined
      ? fallback
      : { rel_type: 'm.thread', event_id: rootId, 'm.in_reply_to': { event_id: replyTarget } };
  return { first, rest: fallback, orphan: false };
}
