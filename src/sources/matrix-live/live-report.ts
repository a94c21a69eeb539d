/** What `ferry ingest matrix` reports beyond the ingest summary (the `homeserver` key of --json). */

/**
 * Why a room named or listed was not read; counted, never a failure.
 * - `room_not_readable`: the homeserver refused its state or timeline (not a member, banned,
 *   not world-readable: 403 `M_FORBIDDEN`, or 404);
 * - `alias_not_found`: a `#alias` of `--rooms`/`--space` the directory does not know;
 * - `not_a_space`: `--space` names a room whose hierarchy cannot be read.
 */
export type RoomSkipReason = 'room_not_readable' | 'alias_not_found' | 'not_a_space';

/**
 * How far back a room's history went when its first (backwards) pass finished:
 * - `creation`: down to the `m.room.create` event, nothing hidden: the whole timeline;
 * - `visibility_wall`: the room's history visibility hides events from this user (typically
 *   `joined`: what was said before they joined). Either the creation event was never reached,
 *   or events were hidden on the way (`hidden_events`).
 */
export type HistoryStart = 'creation' | 'visibility_wall';

export interface LiveRoomReport {
  name?: string;
  /** Timeline events read from `/messages` in this run. */
  events: number;
  /** Set when the first pass finished in this run. */
  history_start?: HistoryStart;
  /** Oldest event read (ms). */
  earliest_ts?: number;
  /**
   * Events the server left out of the backwards pass because this user may not see them.
   * Counted from pages that came back shorter than asked while older pages followed (Synapse
   * reads `limit` events, then drops the invisible ones): exact on Synapse, and a lower bound
   * (possibly 0) on a server that fills its pages up.
   */
  hidden_events?: number;
  /** `backwards` (first pass, or its resumption) and/or `forwards` (newer events). */
  passes: ('backwards' | 'forwards')[];
}

export interface MediaReport {
  /** Bodies fetched (and decrypted, for encrypted attachments) into the media folder. */
  downloaded: number;
  /** Bodies already in the media folder from an earlier run. */
  already_stored: number;
  /** Bytes written. */
  bytes: number;
  /** Bodies not fetched, by reason (`http_403`, `http_404`, `hash_mismatch`, …). */
  failed: Record<string, number>;
}

export interface MatrixLiveReport {
  /** The homeserver's base URL. */
  homeserver: string;
  user_id: string;
  rooms: {
    listed: number;
    read: number;
    skipped: Partial<Record<RoomSkipReason, number>>;
  };
  /** Each room not read, with the reason and the homeserver's errcode. */
  skipped_rooms: { room: string; reason: RoomSkipReason; errcode: string }[];
  /** By room ID. */
  per_room: Record<string, LiveRoomReport>;
  /** Timeline events read (before mapping). */
  events: number;
  media: MediaReport;
  /** The folder the media bodies are written to (the run's `input`). */
  media_dir: string;
  /** Requests by API area (`messages`, `state`, `media`, …). */
  requests: Record<string, number>;
  /** 429 answers waited out (`retry_after_ms` / `Retry-After`). */
  rate_limited: number;
}
