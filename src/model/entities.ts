/**
 * Sources, users, rooms and media: the non-timeline half of the intermediate model.
 *
 * These records are what a source adapter emits and what the store keeps. They describe the
 * source faithfully (names, flags, native IDs); choosing Matrix IDs, aliases and power levels
 * is the job of `src/mapping` and `src/matrix`, not of the model.
 */
import type { MediaKey, RoomKey, SourceKey, UserKey } from './ids.js';

/**
 * The kinds of input ferry reads. Closed: adding one means adding an adapter. `matrix` is a
 * live homeserver read over the client-server API (`ferry ingest matrix`).
 */
export type SourceKind = 'slack' | 'element' | 'matrix-archive' | 'matrix';

/** The kinds read from an export file or folder (`ferry ingest <kind> <path>`, `ferry check`). */
export type ExportKind = Exclude<SourceKind, 'matrix'>;

export interface SourceRecord {
  key: SourceKey;
  kind: SourceKind;
  /** Human name: the Slack workspace name or ID, the Element room name, … */
  name: string;
}

/** Where a record came from, kept for provenance and for error messages. */
export interface Provenance {
  source: SourceKey;
  /** The identifier the source uses (Slack `U…`, `C…`, message `ts`; Matrix IDs). */
  nativeId: string;
}

export interface UserRecord extends Provenance {
  key: UserKey;
  /** Best display name the source offers (see source-formats.md §1.4 for Slack's precedence). */
  displayName: string;
  /** Legacy handle or localpart, used to build ghost localparts (`slack_{name}`). */
  handle?: string;
  realName?: string;
  email?: string;
  /** Remote avatar URL (may carry tokens: never log it unredacted). */
  avatarUrl?: string;
  isBot: boolean;
  /** Deactivated in the source; still referenced by history. */
  isDeleted: boolean;
  /**
   * Referenced by history but absent from the source's user list (external, removed or
   * unknown users, bots without a users.json entry). The name may come from a per-message
   * profile snapshot.
   */
  isPlaceholder: boolean;
  /** Workspace admin/owner in the source; mapped to power levels later. */
  isAdmin: boolean;
}

/**
 * Room kinds. `space` is the container for a whole workspace; the other four are the
 * conversation kinds every source reduces to.
 */
export type RoomKind = 'space' | 'channel' | 'private' | 'dm' | 'group_dm';
export const ROOM_KINDS: readonly RoomKind[] = ['space', 'channel', 'private', 'dm', 'group_dm'];

export interface RoomRecord extends Provenance {
  key: RoomKey;
  kind: RoomKind;
  /** Current name (Slack folder name); DMs may have none. */
  name?: string;
  topic?: string;
  purpose?: string;
  /** Creation time in ms since the epoch, when the source knows a plausible one. */
  createdAt?: number;
  creator?: UserKey;
  isArchived: boolean;
  /** Slack's `#general`: everyone is a member. */
  isGeneral: boolean;
  /** Members at export time (not history). Empty when the source does not say. */
  members: UserKey[];
  /** The space this room belongs to. */
  parent?: RoomKey;
}

/**
 * A file referenced by an event. Bodies are never held in the model: `localPath` names an
 * entry of the export archive (slackdump layouts, Element attachments) and `remoteUrl` is a
 * download location (may carry an export token: never log it unredacted).
 */
export type MediaAvailability =
  /** A body is in the export or downloadable. */
  | 'available'
  /** Free-plan limit: only the ID survives. */
  | 'hidden_by_limit'
  /** Deleted file. */
  | 'tombstone'
  /** Lives in another service (Google Drive…); only a link survives. */
  | 'external'
  /** The exporter was not allowed to see it. */
  | 'access_denied';

export interface MediaRecord extends Provenance {
  key: MediaKey;
  availability: MediaAvailability;
  name?: string;
  title?: string;
  mimetype?: string;
  size?: number;
  /** Entry path inside the export archive when the body is there. */
  localPath?: string;
  remoteUrl?: string;
  /** Image/video dimensions when known. */
  width?: number;
  height?: number;
  /** Slack's mode (`hosted`, `snippet`, `quip`, …) or the Matrix msgtype; informational. */
  mode?: string;
}
