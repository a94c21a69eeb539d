/**
 * One room's timeline, read page by page and checkpointed (see matrix-live-source.ts for the
 * contract): the unfinished or first backwards pass, then forwards from the stored token.
 */
import type { MatrixRoomWatermark, SourceItem, UserRecord } from '../../model/index.js';
import { isMatrixUserId, matrixLocalpart, matrixUserKey } from '../../model/matrix-keys.js';
import {
  bundledEdit,
  matrixEventItems,
  obj,
  parseMatrixEvent,
  str,
  type MatrixEvent,
  type MatrixEventContext,
} from '../matrix-events/index.js';
import type { HomeserverClient } from './homeserver-client.js';
import type { LiveMedia } from './live-media.js';
import type { LiveRoomReport } from './live-report.js';

export interface LiveRoomOptions {
  client: HomeserverClient;
  media: LiveMedia;
  ctx: MatrixEventContext;
  /** MXIDs that have a user record already (the room state's people). */
  knownUsers: Set<string>;
  /** The room's creation time (ms), for progress through a backwards pass. */
  createdAt: number | undefined;
  pageSize: number;
  report: LiveRoomReport;
  /** This room's place in the run, for progress items. */
  position: { index: number; of: number };
  onEvents: (n: number) => void;
}

interface Page {
  events: unknown[];
  start: string | undefined;
  end: string | undefined;
}

/** Progress items count permille of each room's history. */
const PER_ROOM = 1000;

export class LiveRoom {
  lastErrcode = '';
  readonly #o: LiveRoomOptions;
  readonly #path: string;
  /** Edit targets already asked about (`/event/{id}`). */
  readonly #checked = new Set<string>();
  #topTs: number | undefined;

  constructor(o: LiveRoomOptions) {
    this.#o = o;
    this.#path = `/rooms/${encodeURIComponent(o.ctx.roomId)}`;
  }

  /** Reads what the watermark has not covered; `unreadable` when the server refuses. */
  async *read(mark: MatrixRoomWatermark): AsyncGenerator<SourceItem, 'read' | 'unreadable'> {
    let current = mark;
    if (current.complete === undefined) {
      this.#o.report.passes.push('backwards');
      const done = yield* this.#backwards(current);
      if (done === undefined) return 'unreadable';
      current = done;
    }
    this.#o.report.passes.push('forwards');
    const ok = yield* this.#forwards(current);
    return ok ? 'read' : 'unreadable';
  }

  async *#backwards(
    mark: MatrixRoomWatermark,
  ): AsyncGenerator<SourceItem, MatrixRoomWatermark | undefined> {
    let from = mark.pass?.low;
    let top = mark.pass?.top;
    let sawCreate = false;
    let short = 0;
    for (;;) {
      const page = await this.#page('b', from);
      if (page === undefined) return undefined;
      top ??= page.start;
      // A page that came back short although older events followed held hidden events.
      if (page.events.length > 0) this.#hidden(short);
      short = page.end === undefined ? 0 : this.#o.pageSize - page.events.length;
      const events = page.events.slice().reverse();
      const parsed = events.map(parseMatrixEvent);
      sawCreate ||= parsed.some((e) => e?.type === 'm.room.create');
      await this.#markAppliedEdits(parsed);
      yield* this.#emit(events, parsed);
      const oldest = parsed.find((e) => e !== undefined)?.ts;
      if (oldest !== undefined) this.#o.report.earliest_ts = oldest;
      yield this.#progress(oldest);
      if (top === undefined) return undefined;
      if (page.end === undefined || page.end === from) {
        const hidden = this.#o.report.hidden_events ?? 0;
        this.#o.report.history_start = sawCreate && hidden === 0 ? 'creation' : 'visibility_wall';
        const done: MatrixRoomWatermark = { ...base(mark), complete: top };
        yield { type: 'checkpoint', watermark: done };
        return done;
      }
      from = page.end;
      yield { type: 'checkpoint', watermark: { ...base(mark), pass: { top, low: from } } };
    }
  }

  #hidden(n: number): void {
    if (n > 0) this.#o.report.hidden_events = (this.#o.report.hidden_events ?? 0) + n;
  }

  async *#forwards(mark: MatrixRoomWatermark): AsyncGenerator<SourceItem, boolean> {
    let from = mark.complete;
    for (;;) {
      const page = await this.#page('f', from);
      if (page === undefined) return false;
      if (page.events.length === 0) return true;
      const parsed = page.events.map(parseMatrixEvent);
      yield* this.#emit(page.events, parsed);
      // Without an `end` the next run re-reads this page: upserts, nothing doubles.
      if (page.end === undefined || page.end === from) return true;
      from = page.end;
      yield { type: 'checkpoint', watermark: { ...base(mark), complete: from } };
    }
  }

  async #page(dir: 'b' | 'f', from: string | undefined): Promise<Page | undefined> {
    const r = await this.#o.client.get('messages', `${this.#path}/messages`, {
      dir,
      limit: String(this.#o.pageSize),
      from,
    });
    if (!r.ok) {
      this.lastErrcode = r.errcode;
      return undefined;
    }
    const events = Array.isArray(r.data.chunk) ? r.data.chunk : [];
    this.#o.onEvents(events.length);
    this.#o.report.events += events.length;
    return { events, start: str(r.data.start), end: str(r.data.end) };
  }

  /** Maps a page (oldest first), fetches its media, and yields new users before the events. */
  async *#emit(raw: unknown[], parsed: (MatrixEvent | undefined)[]): AsyncGenerator<SourceItem> {
    const { ctx } = this.#o;
    const items: SourceItem[] = [];
    const users: SourceItem[] = [];
    for (const [i, event] of parsed.entries()) {
      if (event === undefined) {
        const id = str(obj(raw[i])?.event_id) ?? '(no event_id)';
        items.push({
          type: 'skip',
          reason: 'malformed_message',
          where: `${ctx.roomId} ${id}: no valid event_id, type, sender or origin_server_ts`,
        });
        continue;
      }
      for (const mxid of [event.sender, event.stateKey]) {
        if (mxid !== undefined && isMatrixUserId(mxid) && !this.#o.knownUsers.has(mxid)) {
          this.#o.knownUsers.add(mxid);
          users.push({ type: 'user', user: placeholder(mxid, ctx) });
        }
      }
      items.push(...matrixEventItems(event, ctx, `${ctx.roomId} ${event.eventId}`));
    }
    yield* users;
    yield* await this.#o.media.settle(items);
  }

  /**
   * Edits on this page whose target is older (a later page of a backwards pass): when the
   * target carries a bundled edit, the mapper will show it with its latest text, so the
   * separate edits are marked applied first (as an Element export, read oldest first, does).
   */
  async #markAppliedEdits(parsed: (MatrixEvent | undefined)[]): Promise<void> {
    const onPage = new Set(parsed.map((e) => e?.eventId));
    for (const event of parsed) {
      const relation = obj(event?.content?.['m.relates_to']);
      const target = str(relation?.event_id);
      if (relation?.rel_type !== 'm.replace' || target === undefined) continue;
      if (onPage.has(target) || this.#checked.has(target)) continue;
      this.#checked.add(target);
      const r = await this.#o.client.get(
        'event',
        `${this.#path}/event/${encodeURIComponent(target)}`,
      );
      const original = r.ok ? parseMatrixEvent(r.data) : undefined;
      if (original !== undefined && bundledEdit(original) !== undefined) {
        this.#o.ctx.editedMessages.add(target);
      }
    }
  }

  /** Room `index` of `of`, this room's share read so far by time (when the creation is known). */
  #progress(oldest: number | undefined): SourceItem {
    const { index, of } = this.#o.position;
    this.#topTs ??= oldest;
    const created = this.#o.createdAt;
    let share = 0;
    if (oldest !== undefined && created !== undefined && this.#topTs !== undefined) {
      const span = this.#topTs - created;
      share = span <= 0 ? 1 : Math.min(1, (this.#topTs - oldest) / span);
    }
    return {
      type: 'progress',
      done: index * PER_ROOM + Math.round(share * PER_ROOM),
      total: of * PER_ROOM,
      unit: 'entries',
      label: `${this.#o.report.name ?? this.#o.ctx.roomId}: ${this.#o.report.events} events`,
    };
  }
}

function base(mark: MatrixRoomWatermark): MatrixRoomWatermark {
  return { kind: 'matrix_room', source: mark.source, roomId: mark.roomId };
}

/** Someone the room state does not name (a sender seen only in the timeline). */
function placeholder(mxid: string, ctx: MatrixEventContext): UserRecord {
  return {
    key: matrixUserKey(mxid),
    source: ctx.source,
    nativeId: mxid,
    displayName: matrixLocalpart(mxid),
    handle: matrixLocalpart(mxid),
    isBot: false,
    isDeleted: false,
    isPlaceholder: true,
    isAdmin: false,
  };
}
