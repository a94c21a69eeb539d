/**
 * The state of one room while it is written, shared by the writer's parts: the ordering loop
 * (room-writer.ts), the ledger-tracked sends (ledger-sends.ts), memberships (room-members.ts)
 * and the end-of-room state (room-end.ts). One session per room and per `RoomWriter`.
 */
import type { Knex } from 'knex';
import type { Logger } from '../logger.js';
import type { MediaKey, MediaRecord, RoomKey, UserKey } from '../model/index.js';
import type { MatrixClient } from './client.js';
import type { CatalogRoom, PushCatalog } from './push-catalog.js';
import type { PushState } from './push-state.js';
import type { RoomId, UserId } from './types.js';

export interface MediaResolver {
  /** Uploads (once) and returns the record and its mxc URI when the body could be uploaded. */
  resolve(key: MediaKey): Promise<{ record: MediaRecord; mxc?: string } | undefined>;
}

export interface RoomWriterOptions {
  client: MatrixClient;
  state: PushState;
  catalog: PushCatalog;
  db: Knex;
  media: MediaResolver;
  botUserId: UserId;
  appserviceId: string;
  logger: Logger;
  /** Send events that are older than what the room already shows (normally only counted). */
  appendLate: boolean;
  /** Set read markers of every member at the end of the room. */
  readMarkers: boolean;
  /** React with custom emoji images (mxc keys) instead of `:name:` text. */
  imageReactions?: boolean;
  pageSize?: number;
  /** Called after each Matrix event sent (progress). */
  onSent?: (roomKey: RoomKey) => void;
  /** Called every few events so the caller can renew the room's lease. */
  onHeartbeat?: () => Promise<void>;
  /** Injectable for tests; waits between checked resends. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RoomWriteResult {
  sent: number;
  alreadySent: number;
  skipped: Record<string, number>;
  /** Events older than what the room already held; counted, not sent (unless appendLate). */
  late: number;
  reconciled: number;
}

export interface RoomSession {
  readonly roomId: RoomId;
  readonly room: CatalogRoom;
  /** Current membership of each model user in the Matrix room (the bot under `BOT_KEY`). */
  members: Map<UserKey, string>;
  readonly result: RoomWriteResult;
  /** The last event sent in this run (read markers point at it). */
  lastEventId: string | undefined;
}

/** The bot is always joined (it created the room); it has no model key of its own. */
export const BOT_KEY = '\u0000bot' as UserKey;

/**
 * Sends are never resent blindly by the client: after an ambiguous failure the writer first
 * looks for the event in the room (ledger-sends.ts).
 */
export const ONCE = { retry: 'throttle_only' } as const;
