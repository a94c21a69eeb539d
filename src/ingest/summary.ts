/**
 * The report that `ferry check` and `ferry ingest` print. Its keys are stable and documented
 * in the README ("JSON output"); add keys, never rename them.
 */
import {
  reportKindOf,
  type EventReportKind,
  type LossReason,
  type RoomKind,
  type SkipReason,
  type SourceItem,
  type SourceRecord,
  type UndecryptableWhy,
} from '../model/index.js';

export interface ContentSummary {
  source: SourceRecord | null;
  users: number;
  /** Users by flavour (a user can be in several: a deleted bot). */
  user_kinds: { bot: number; deleted: number; placeholder: number };
  rooms: Record<Exclude<RoomKind, 'space'>, number> & { space: number };
  events: Partial<Record<EventReportKind, number>>;
  /** Events that belong to a thread but are not its root. */
  thread_replies: number;
  files: { total: number; with_body: number; without_body: number };
  /** Not carried over at all, by reason. */
  skipped: Partial<Record<SkipReason, number>>;
  /** Carried over only in part, by reason. */
  lost: Partial<Record<LossReason, number>>;
  /** ISO timestamps of the earliest and latest event, or null when there is none. */
  date_range: { first: string | null; last: string | null };
  /**
   * Matrix events that stayed encrypted, by room key and then by why (`no_decryptor`,
   * `no_key`, `failed`, `exporter`); their total is `skipped.undecryptable`.
   */
  undecryptable: Record<string, Partial<Record<UndecryptableWhy, number>>>;
}

export function emptySummary(): ContentSummary {
  return {
    source: null,
    users: 0,
    user_kinds: { bot: 0, deleted: 0, placeholder: 0 },
    rooms: { channel: 0, private: 0, dm: 0, group_dm: 0, space: 0 },
    events: {},
    thread_replies: 0,
    files: { total: 0, with_body: 0, without_body: 0 },
    skipped: {},
    lost: {},
    date_range: { first: null, last: null },
    undecryptable: {},
  };
}

/** Folds source items into a ContentSummary. */
export class SummaryCounter {
  readonly summary = emptySummary();
  private minTs = Number.POSITIVE_INFINITY;
  private maxTs = Number.NEGATIVE_INFINITY;

  add(item: SourceItem): void {
    const s = this.summary;
    switch (item.type) {
      case 'source':
        s.source = item.source;
        break;
      case 'user':
        s.users += 1;
        if (item.user.isBot) s.user_kinds.bot += 1;
        if (item.user.isDeleted) s.user_kinds.deleted += 1;
        if (item.user.isPlaceholder) s.user_kinds.placeholder += 1;
        break;
      case 'room':
        s.rooms[item.room.kind] += 1;
        break;
      case 'media':
        s.files.total += 1;
        if (item.media.localPath !== undefined) s.files.with_body += 1;
        else s.files.without_body += 1;
        break;
      case 'event': {
        const kind = reportKindOf(item.event);
        s.events[kind] = (s.events[kind] ?? 0) + 1;
        if (item.event.thread !== undefined && item.event.thread.root !== item.event.key) {
          s.thread_replies += 1;
        }
        this.minTs = Math.min(this.minTs, item.event.ts);
        this.maxTs = Math.max(this.maxTs, item.event.ts);
        break;
      }
      case 'event_rows': {
        const r = item.rows;
        for (const [kind, n] of Object.entries(r.kinds) as [EventReportKind, number][]) {
          s.events[kind] = (s.events[kind] ?? 0) + n;
        }
        s.thread_replies += r.threadReplies;
        this.minTs = Math.min(this.minTs, r.minTs);
        this.maxTs = Math.max(this.maxTs, r.maxTs);
        break;
      }
      case 'skip':
        s.skipped[item.reason] = (s.skipped[item.reason] ?? 0) + (item.count ?? 1);
        if (item.undecryptable !== undefined) {
          const { room, why } = item.undecryptable;
          const byWhy = (s.undecryptable[room] ??= {});
          byWhy[why] = (byWhy[why] ?? 0) + (item.count ?? 1);
        }
        break;
      case 'loss':
        s.lost[item.reason] = (s.lost[item.reason] ?? 0) + (item.count ?? 1);
        break;
      case 'progress':
      case 'checkpoint':
        break;
    }
  }

  /** The latest event `ts` (ms) seen so far; undefined before the first event. */
  get latestEventTs(): number | undefined {
    return Number.isFinite(this.maxTs) ? this.maxTs : undefined;
  }

  finish(): ContentSummary {
    if (Number.isFinite(this.minTs)) {
      this.summary.date_range = {
        first: new Date(this.minTs).toISOString(),
        last: new Date(this.maxTs).toISOString(),
      };
    }
    return this.summary;
  }
}
