/**
 * The live Matrix source: rooms of a homeserver read over the client-server API with a
 * user's access token → the same `SourceItem`s the Element and matrix-archive adapters
 * produce, through the one shared Matrix-event mapper (../matrix-events, `HOMESERVER_RULES`)
 * and the shared Matrix keys, so an Element export of a room and a live read of it meet in one
 * room with one row per event.
 *
 * Contract:
 * - First the source (`matrix-live:<user id>`), then per room: its record and its people from
 *   the room state (`/state`, read as Element's survey reads an export's state events), then
 *   the timeline page by page, each page followed by a `checkpoint` with the room's watermark
 *   (src/model/watermark.ts `MatrixRoomWatermark`): the ingest commits the page and the
 *   watermark together, so a crash loses at most the page in flight and a rerun resumes there.
 * - A room's first pass reads `/messages?dir=b` from now back to the creation event, or to the
 *   user's history-visibility wall (reported per room, `history_start`). Later passes (and the
 *   end of the first) read `dir=f` from the stored token: only newer events.
 * - Within a page events are mapped oldest first. A backwards pass meets an edit before the
 *   message it edits; the server bundles a message's latest edit with it (`unsigned`), which
 *   the mapper shows as the message's final text and an Element export then skips the separate
 *   edit events as `duplicate`. To give the same items, the pass asks the server for an edit's
 *   target (`/event/{id}`) when it is on an older page: if that carries a bundled edit, the edit
 *   is marked applied before it is mapped.
 * - `m.room.encrypted` events go through the decryptor (undecryptable ones are counted per
 *   room by the mapper); file bodies are fetched by live-media.ts before their page is yielded.
 * - A room the user cannot read is counted in `report` and skipped; a rejected token and
 *   transport failures throw (homeserver-client.ts).
 */
import { FerryError } from '../../errors.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { EventDecryptor } from '../../e2ee/decryptor.js';
import {
  sourceKey,
  type MatrixRoomWatermark,
  type RoomRecord,
  type SourceItem,
  type SourceKey,
} from '../../model/index.js';
import { isMatrixUserId, matrixRoomKey } from '../../model/matrix-keys.js';
import { HOMESERVER_RULES, str, type MatrixEventContext } from '../matrix-events/index.js';
import { HomeserverClient } from './homeserver-client.js';
import { LiveMedia } from './live-media.js';
import type { LiveRoomReport, MatrixLiveReport } from './live-report.js';
import { LiveRoom } from './live-room.js';
import { roomTargets, type RoomSelection, type RoomTarget } from './room-targets.js';
import { roomFromState } from './room-state.js';

export interface MatrixLiveSourceOptions {
  /** Base URL of the homeserver (`https://matrix.example.org`), without a trailing slash. */
  homeserver: string;
  token: string;
  logger?: Logger;
  selection?: RoomSelection;
  /** Stored watermarks by source key, then room ID (read by the CLI). */
  watermarks?: ReadonlyMap<string, ReadonlyMap<string, MatrixRoomWatermark>>;
  decryptor?: EventDecryptor;
  /** Folder the media bodies are written to (`<server>/<media id>` inside it). */
  mediaDir: string;
  /** Events per `/messages` page (default 1000). */
  pageSize?: number;
}

/** One source per reading user: what a user can see is what their token reads. */
export const matrixLiveSourceKey = (userId: string): SourceKey =>
  sourceKey(`matrix-live:${userId}`);

export class MatrixLiveSource {
  readonly report: MatrixLiveReport;
  readonly #o: MatrixLiveSourceOptions;
  readonly #client: HomeserverClient;
  readonly #media: LiveMedia;
  readonly #logger: Logger;
  readonly #emittedUsers = new Set<string>();

  constructor(o: MatrixLiveSourceOptions) {
    this.#o = o;
    this.#logger = o.logger ?? silentLogger;
    this.#client = new HomeserverClient({
      baseUrl: o.homeserver,
      token: o.token,
      logger: this.#logger,
    });
    this.#media = new LiveMedia(this.#client, o.mediaDir, this.#logger);
    this.report = {
      homeserver: o.homeserver,
      user_id: '',
      rooms: { listed: 0, read: 0, skipped: {} },
      skipped_rooms: [],
      per_room: {},
      events: 0,
      media: this.#media.report,
      media_dir: o.mediaDir,
      requests: this.#client.requests,
      rate_limited: 0,
    };
  }

  async *items(): AsyncGenerator<SourceItem> {
    try {
      yield* this.#items();
    } finally {
      this.report.rate_limited = this.#client.rateLimited;
    }
  }

  async *#items(): AsyncGenerator<SourceItem> {
    const who = await this.#client.get('account', '/account/whoami');
    const userId = who.ok ? str(who.data.user_id) : undefined;
    if (userId === undefined || !isMatrixUserId(userId)) {
      throw new FerryError(
        'input_unsupported',
        `the homeserver's /account/whoami gave no user ID (${who.ok ? 'no user_id' : who.errcode})`,
      );
    }
    this.report.user_id = userId;
    const source = matrixLiveSourceKey(userId);
    const name = `${userId} on ${new URL(this.#o.homeserver).host}`;
    yield { type: 'source', source: { key: source, kind: 'matrix', name } };
    const { targets, skips } = await roomTargets(this.#client, this.#o.selection ?? {});
    for (const s of skips) this.#skipRoom(s.room, s.reason, s.errcode);
    this.report.rooms.listed = targets.length;
    const stored = this.#o.watermarks?.get(source);
    for (const [index, target] of targets.entries()) {
      yield* this.#room(target, source, stored?.get(target.roomId), { index, of: targets.length });
    }
  }

  async *#room(
    target: RoomTarget,
    source: SourceKey,
    stored: MatrixRoomWatermark | undefined,
    position: { index: number; of: number },
  ): AsyncGenerator<SourceItem> {
    const { roomId } = target;
    const state = await this.#client.get('state', `/rooms/${encodeURIComponent(roomId)}/state`);
    if (!state.ok) {
      this.#skipRoom(roomId, 'room_not_readable', state.errcode);
      return;
    }
    const parsed = roomFromState(state.array ?? [], source, roomId, target.parent);
    const report: LiveRoomReport = { events: 0, passes: [] };
    if (parsed.room.name !== undefined) report.name = parsed.room.name;
    this.report.per_room[roomId] = report;
    yield { type: 'room', room: parsed.room };
    // A person in several rooms is one user record per run (the first room's view of them).
    for (const user of parsed.users) {
      if (this.#emittedUsers.has(user.nativeId)) continue;
      this.#emittedUsers.add(user.nativeId);
      yield { type: 'user', user };
    }
    const room = new LiveRoom({
      client: this.#client,
      media: this.#media,
      ctx: this.#context(source, parsed.room),
      knownUsers: new Set(parsed.users.map((u) => u.nativeId)),
      createdAt: parsed.room.createdAt,
      pageSize: this.#o.pageSize ?? 1000,
      report,
      position,
      onEvents: (n) => (this.report.events += n),
    });
    const mark = stored ?? { kind: 'matrix_room', source, roomId };
    const result = yield* room.read(mark);
    if (result === 'unreadable') {
      delete this.report.per_room[roomId];
      this.#skipRoom(roomId, 'room_not_readable', room.lastErrcode);
      return;
    }
    this.report.rooms.read += 1;
  }

  #context(source: SourceKey, room: RoomRecord): MatrixEventContext {
    return {
      source,
      room: matrixRoomKey(room.nativeId),
      roomId: room.nativeId,
      rules: HOMESERVER_RULES,
      media: this.#media.resolver,
      ...(this.#o.decryptor === undefined ? {} : { decryptor: this.#o.decryptor }),
      editedMessages: new Set(),
      emittedMedia: new Set(),
      orphanReplies: 0,
    };
  }

  #skipRoom(
    room: string,
    reason: MatrixLiveReport['skipped_rooms'][number]['reason'],
    errcode: string,
  ) {
    const counts = this.report.rooms.skipped;
    counts[reason] = (counts[reason] ?? 0) + 1;
    this.report.skipped_rooms.push({ room, reason, errcode });
    this.#logger.warn({ room, reason, errcode }, 'matrix: room not read');
  }
}
