/**
 * What the adapter takes from one mapped day file, whether it was mapped on the main thread or
 * in a worker (day-file-pool.ts): the items to yield and what the conversation's thread
 * bookkeeping needs.
 */
import type { EventKey, SourceItem, TimelineEvent } from '../../model/index.js';
import { encodeEventRows } from '../../model/event-copy-row.js';
import type { MappedMessage } from './slack-day-file.js';

export interface DayFileOutput {
  /** `ts` of repeated messages, skipped. */
  duplicates: string[];
  /**
   * In message order. With `rows`, every event is in one `event_rows` item at the end and
   * the other items (media, skips, losses) come first.
   */
  items: SourceItem[];
  /** Thread roots started in this file, in order. */
  roots: EventKey[];
  /**
   * For each reply whose root did not come earlier in this file: that root. The reply lost
   * its root unless an earlier file of the conversation started it.
   */
  openReplies: EventKey[];
}

/** Flattens mapped messages; `rows` serialises their events (the worker path). */
export function dayFileOutput(
  duplicates: string[],
  messages: readonly MappedMessage[],
  rows: boolean,
): DayFileOutput {
  const items: SourceItem[] = [];
  const events: TimelineEvent[] = [];
  const roots: EventKey[] = [];
  const seen = new Set<EventKey>();
  const openReplies: EventKey[] = [];
  for (const { root, items: messageItems } of messages) {
    if (root !== undefined) {
      roots.push(root);
      seen.add(root);
    }
    for (const item of messageItems) {
      if (item.type === 'event') {
        const thread = item.event.thread;
        if (thread !== undefined && item.event.key !== thread.root && !seen.has(thread.root)) {
          openReplies.push(thread.root);
        }
        if (rows) {
          events.push(item.event);
          continue;
        }
      }
      items.push(item);
    }
  }
  if (events.length > 0) items.push({ type: 'event_rows', rows: encodeEventRows(events) });
  return { duplicates, items, roots, openReplies };
}
