/**
 * `ferry push`: provision users, spaces and rooms, then write every room in order, many rooms
 * in parallel. Several processes may push from one PostgreSQL store at once: rooms are leased.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import type { Knex } from 'knex';
import type { Logger } from '../logger.js';
import type { IdentityMapper } from '../mapping/identity.js';
import type { MediaKey, MediaRecord, RoomKey } from '../model/index.js';
import { mediaKey as toMediaKey, sourceKey } from '../model/index.js';
import type { MatrixClient } from './client.js';
import { buildEmojiPack, IMAGE_PACK_EVENT_TYPE } from '../mapping/emoji-pack.js';
import { MediaUploader, type MediaArchive } from './media-uploader.js';
import { Provisioner } from './provisioner.js';
import { PushCatalog, type CatalogOptions } from './push-catalog.js';
import { recordPushRun } from './push-runs.js';
import { PushState } from './push-state.js';
import { RoomWriter, type MediaResolver, type RoomWriteResult } from './room-writer.js';
import type { JsonObject, RoomId, UserId } from './types.js';

export interface PushOptions {
  db: Knex;
  client: MatrixClient;
  identity: IdentityMapper;
  appserviceId: string;
  botLocalpart: string;
  logger: Logger;
  /** Rooms written at the same time (each one strictly in order). */
  concurrency: number;
  /** Restrict to these rooms (room keys, native IDs or names). */
  rooms?: string[];
  appendLate: boolean;
  readMarkers: boolean;
  allowDownload: boolean;
  maxUploadBytes: number;
  /** Lease length; a crashed process's rooms become free after it. */
  leaseMs?: number;
  onProgress?: (p: PushProgress) => void;
  /** Injectable for tests: waits between checked resends. */
  sleep?: (ms: number) => Promise<void>;
  /** Identity rules and room mappings from the config. */
  catalog?: CatalogOptions;
  /** Slack token (files:read) for Slack file URLs without an export token; never logged. */
  slackToken?: string;
  /** React with custom emoji images (mxc keys) instead of `:name:` text. */
  imageReactions?: boolean;
  /**
   * Opens the export an ingest run read (its `input`), for file bodies inside it. Injected by
   * the composition root (src/archive's `openArchive`) so that the Matrix side does not know
   * how exports are stored. Rejections are logged and the bodies count as not in the export.
   */
  openArchive: (input: string) => Promise<ExportArchive>;
}

/** An export opened for its file bodies; push closes it when it is done. */
export interface ExportArchive extends MediaArchive {
  close(): Promise<void>;
}

export interface PushProgress {
  phase: 'users' | 'rooms';
  roomsDone: number;
  roomsTotal: number;
  /** Matrix sends so far (joins and multi-part events count each send). */
  eventsSent: number;
  /** Store events not yet written (sent or skipped) when the push started. */
  eventsTotal: number;
  currentRooms: string[];
}

export interface PushSummary {
  users: { created: number; existing: number };
  rooms: { written: number; failed: number };
  events: {
    sent: number;
    already_sent: number;
    reconciled: number;
    skipped: Record<string, number>;
  };
  /** Events older than what their room already showed, per room: counted, not sent. */
  late: Record<string, number>;
  failures: { room: string; error: string }[];
}

const CONVERSATION_KINDS = ['channel', 'private', 'dm', 'group_dm'] as const;

export async function push(o: PushOptions): Promise<PushSummary> {
  const startedAt = new Date();
  const state = new PushState(o.db);
  const catalog = await PushCatalog.load(o.db, o.identity, o.catalog);
  const botUserId = `@${o.botLocalpart}:${o.identity.serverName}` as UserId;
  await o.client.registerUser(o.botLocalpart);
  await state.registerRooms((_key, nativeId, kind) => o.identity.roomAlias(kind, nativeId));
  await releaseDeadLocalLeases(o.db);

  const provisioner = new Provisioner({
    client: o.client,
    state,
    catalog,
    botUserId,
    serverName: o.identity.serverName,
    logger: o.logger,
    uploadAvatar: o.allowDownload ? avatarUploader(o) : undefined,
  });
  const only = o.rooms === undefined ? undefined : selectRooms(catalog, o.rooms);
  const run: PushRun = {
    o,
    state,
    catalog,
    provisioner,
    botUserId,
    only,
    owner: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    leaseMs: o.leaseMs ?? 60_000,
    // What is left to write: a re-run after a newer export counts only the new events.
    progress: {
      phase: 'users',
      roomsDone: 0,
      roomsTotal: catalog.rooms.size,
      eventsSent: 0,
      eventsTotal: await state.unwrittenEvents(only),
      currentRooms: [],
    },
    summary: {
      users: { created: 0, existing: 0 },
      rooms: { written: 0, failed: 0 },
      events: { sent: 0, already_sent: 0, reconciled: 0, skipped: {} },
      late: {},
      failures: [],
    },
    media: new StoreMediaResolver(o, state),
  };
  run.summary.users = await provisioner.provisionUsers(Math.max(4, o.concurrency), () =>
    o.onProgress?.(run.progress),
  );
  run.progress.phase = 'rooms';

  // Spaces first, so rooms can name their parent at creation.
  await roomWorker(run, ['space']);
  if (o.allowDownload) await sendEmojiPacks(o, state, catalog);
  const limit = pLimit(o.concurrency);
  await Promise.all(
    Array.from({ length: o.concurrency }, () => limit(() => roomWorker(run, CONVERSATION_KINDS))),
  );
  await setDirectRooms(o.client, catalog, state);
  await run.media.close();
  await recordRun(run, startedAt);
  return run.summary;
}

/** The finished run's duration and output, for `ferry plan`'s ETA (push-runs.ts). */
async function recordRun(run: PushRun, startedAt: Date): Promise<void> {
  const left = await run.state.unwrittenEvents(run.only);
  await recordPushRun(run.o.db, {
    owner: run.owner,
    concurrency: run.o.concurrency,
    startedAt,
    finishedAt: new Date(),
    storeEvents: Math.max(0, run.progress.eventsTotal - left),
    matrixEvents: run.summary.events.sent,
    roomsWritten: run.summary.rooms.written,
    roomsFailed: run.summary.rooms.failed,
  });
}

/** What one push process shares between its room workers. */
interface PushRun {
  o: PushOptions;
  state: PushState;
  catalog: PushCatalog;
  provisioner: Provisioner;
  botUserId: UserId;
  only: string[] | undefined;
  /** Lease owner: host, PID and a random part. */
  owner: string;
  leaseMs: number;
  progress: PushProgress;
  summary: PushSummary;
  media: StoreMediaResolver;
}

/** Claims rooms of these kinds until none is left, writing each; a failed room is recorded. */
async function roomWorker(run: PushRun, kinds: readonly string[]): Promise<void> {
  const { o, state, owner, leaseMs, progress, summary } = run;
  for (;;) {
    const roomKey = await state.claimRoom(owner, leaseMs, kinds, run.only);
    if (roomKey === undefined) return;
    progress.currentRooms.push(roomKey);
    try {
      const result = await writeRoom(run, roomKey);
      addRoomResult(summary, roomKey, result);
      await state.finishRoom(roomKey, owner, { status: 'done', lateEvents: result.late });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      o.logger.error({ room: roomKey, err: error }, 'room failed');
      summary.rooms.failed += 1;
      summary.failures.push({ room: roomKey, error });
      await state.finishRoom(roomKey, owner, { status: 'failed', error, lateEvents: 0 });
    } finally {
      progress.currentRooms = progress.currentRooms.filter((r) => r !== roomKey);
      progress.roomsDone += 1;
      o.onProgress?.(progress);
    }
  }
}

async function writeRoom(run: PushRun, roomKey: RoomKey): Promise<RoomWriteResult> {
  const { o, state } = run;
  const roomId = await run.provisioner.ensureRoom(roomKey);
  const writer = new RoomWriter({
    client: o.client,
    state,
    catalog: run.catalog,
    db: o.db,
    media: run.media,
    botUserId: run.botUserId,
    appserviceId: o.appserviceId,
    logger: o.logger.child({ room: roomKey }),
    appendLate: o.appendLate,
    readMarkers: o.readMarkers,
    imageReactions: o.imageReactions,
    onSent: () => {
      run.progress.eventsSent += 1;
      o.onProgress?.(run.progress);
    },
    onHeartbeat: () => state.renewLease(roomKey, run.owner, run.leaseMs),
    sleep: o.sleep,
  });
  return writer.write(roomKey, roomId);
}

function addRoomResult(summary: PushSummary, roomKey: RoomKey, result: RoomWriteResult): void {
  summary.events.sent += result.sent;
  summary.events.already_sent += result.alreadySent;
  summary.events.reconciled += result.reconciled;
  for (const [reason, n] of Object.entries(result.skipped))
    summary.events.skipped[reason] = (summary.events.skipped[reason] ?? 0) + n;
  if (result.late > 0) summary.late[roomKey] = result.late;
  summary.rooms.written += 1;
}

/**
 * Custom Slack emoji (stored by `ferry enrich slack --emoji`) become an image pack on the
 * workspace's space, uploaded once per image URL. Needs downloads to be allowed.
 */
async function sendEmojiPacks(
  o: PushOptions,
  state: PushState,
  catalog: PushCatalog,
): Promise<void> {
  const rows = (await o
    .db('slack_custom_emoji')
    .whereNotNull('url')
    .orderBy(['source_key', 'name'])
    .select('source_key', 'name', 'url')) as {
    source_key: string;
    name: string;
    url: string;
  }[];
  if (rows.length === 0) return;
  const bySource = await uploadEmojiImages(o, state, rows);
  for (const [source, images] of bySource) {
    const space = [...catalog.rooms.values()].find(
      (r) =>
        r.record.kind === 'space' && r.record.source === source && r.record.parent === undefined,
    );
    const roomId = space === undefined ? undefined : (await state.room(space.record.key))?.room_id;
    if (space === undefined || roomId == null) continue;
    const content = buildEmojiPack(images, `${space.record.name ?? 'Slack'} emoji`);
    await o.client.sendState(
      roomId as RoomId,
      IMAGE_PACK_EVENT_TYPE,
      '',
      content as unknown as JsonObject,
    );
  }
}

/** Each custom emoji's image uploaded (once per URL), by source: name → mxc URI. */
async function uploadEmojiImages(
  o: PushOptions,
  state: PushState,
  rows: { source_key: string; name: string; url: string }[],
): Promise<Map<string, Map<string, string>>> {
  const uploader = new MediaUploader({
    client: o.client,
    openArchive: () => Promise.resolve(undefined),
    allowDownload: true,
    maxUploadBytes: Math.min(o.maxUploadBytes, 1024 * 1024),
    logger: o.logger,
  });
  const bySource = new Map<string, Map<string, string>>();
  for (const row of rows) {
    const key = toMediaKey(`slack-emoji:${row.url}`);
    let mxc = (await state.mediaUpload(key))?.mxc ?? undefined;
    if (mxc === undefined) {
      const result = await uploader.upload({
        key,
        source: sourceKey(row.source_key),
        nativeId: row.name,
        availability: 'available',
        name: row.name,
        remoteUrl: row.url,
      });
      if (result.status !== 'uploaded') {
        o.logger.warn({ emoji: row.name, reason: result.reason }, 'custom emoji not uploaded');
        continue;
      }
      mxc = result.mxc;
      await state.recordMedia(key, { status: 'uploaded', mxc });
    }
    const pack = bySource.get(row.source_key) ?? new Map<string, string>();
    pack.set(row.name, mxc);
    bySource.set(row.source_key, pack);
  }
  return bySource;
}

/** Avatars are downloaded from their (public) URLs and uploaded once per URL. */
function avatarUploader(o: PushOptions): (url: string) => Promise<string | undefined> {
  const uploader = new MediaUploader({
    client: o.client,
    openArchive: () => Promise.resolve(undefined),
    allowDownload: true,
    maxUploadBytes: Math.min(o.maxUploadBytes, 10 * 1024 * 1024),
    logger: o.logger,
  });
  return async (url) => {
    const result = await uploader.upload({
      key: toMediaKey(`avatar:${url}`),
      source: sourceKey('avatar'),
      nativeId: url,
      availability: 'available',
      name: 'avatar',
      remoteUrl: url,
    });
    if (result.status === 'uploaded') return result.mxc;
    o.logger.warn({ reason: result.reason }, 'avatar not uploaded');
    return undefined;
  };
}

/** Rooms leased by a process of this host that no longer exists are free again. */
async function releaseDeadLocalLeases(db: Knex): Promise<void> {
  const host = hostname();
  const running = (await db('matrix_rooms')
    .where({ status: 'running' })
    .select('room_key', 'lease_owner')) as {
    room_key: string;
    lease_owner: string | null;
  }[];
  for (const row of running) {
    const [ownerHost, pid] = (row.lease_owner ?? '').split(':');
    if (ownerHost !== host || pid === undefined) continue;
    if (!isAlive(Number(pid))) {
      await db('matrix_rooms')
        .where({ room_key: row.room_key, lease_owner: row.lease_owner })
        .update({ status: 'pending', lease_owner: null, lease_expires_at: null });
    }
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function selectRooms(catalog: PushCatalog, wanted: string[]): string[] {
  const keys: string[] = [];
  for (const [key, room] of catalog.rooms) {
    const names = [
      key,
      room.record.nativeId,
      room.record.name,
      room.record.name === undefined ? undefined : `#${room.record.name}`,
    ];
    if (wanted.some((w) => names.includes(w))) keys.push(key);
  }
  return keys;
}

/** `m.direct` account data for every member of every DM and group DM. */
async function setDirectRooms(
  client: MatrixClient,
  catalog: PushCatalog,
  state: PushState,
): Promise<void> {
  const direct = new Map<UserId, Map<string, Set<string>>>();
  for (const [key, room] of catalog.rooms) {
    if (room.record.kind !== 'dm' && room.record.kind !== 'group_dm') continue;
    const roomId = (await state.room(key as RoomKey))?.room_id;
    if (roomId == null) continue;
    const mxids = room.record.members
      .map((m) => catalog.users.get(m)?.mxid)
      .filter((m): m is `@${string}:${string}` => m !== undefined);
    for (const me of mxids) {
      const mine = direct.get(me) ?? new Map<string, Set<string>>();
      for (const other of mxids) {
        if (other === me && mxids.length > 1) continue;
        const set = mine.get(other) ?? new Set<string>();
        set.add(roomId);
        mine.set(other, set);
      }
      direct.set(me, mine);
    }
  }
  for (const [user, map] of direct) {
    const existing = (await client.getAccountData(user, 'm.direct')) ?? {};
    const merged: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(existing))
      if (Array.isArray(v)) merged[k] = v.filter((x): x is string => typeof x === 'string');
    for (const [other, rooms] of map)
      merged[other] = [...new Set([...(merged[other] ?? []), ...rooms])];
    await client.setAccountData(user, 'm.direct', merged as unknown as JsonObject);
  }
}

/** Hosts that may receive the Slack token with a file download. */
const SLACK_FILE_HOSTS = /(^|\.)slack\.com$/;

/** Media bodies: uploaded once, remembered in the store, read from the source's export. */
class StoreMediaResolver implements MediaResolver {
  private readonly archives = new Map<string, Promise<ExportArchive | undefined>>();
  private readonly uploaders = new Map<string, MediaUploader>();

  constructor(
    private readonly o: PushOptions,
    private readonly state: PushState,
  ) {}

  async resolve(key: MediaKey): Promise<{ record: MediaRecord; mxc?: string } | undefined> {
    const row = (await this.o.db('media').where({ key }).first()) as
      Record<string, unknown> | undefined;
    if (row === undefined) return undefined;
    const record = mediaFromRow(row);
    const done = await this.state.mediaUpload(key);
    if (done !== undefined) return { record, mxc: done.mxc ?? undefined };
    const result = await this.uploader(String(row.source_key)).upload(record);
    if (result.status === 'uploaded') {
      await this.state.recordMedia(key, { status: 'uploaded', mxc: result.mxc });
      return { record, mxc: result.mxc };
    }
    // Downloads may be enabled later: only remember outcomes that will not change.
    if (result.reason !== 'download_disabled')
      await this.state.recordMedia(key, { status: 'unavailable', reason: result.reason });
    return { record };
  }

  private uploader(source: string): MediaUploader {
    let uploader = this.uploaders.get(source);
    if (uploader === undefined) {
      uploader = new MediaUploader({
        client: this.o.client,
        openArchive: () => this.archive(source),
        allowDownload: this.o.allowDownload,
        maxUploadBytes: this.o.maxUploadBytes,
        logger: this.o.logger,
        ...(this.o.slackToken !== undefined && source.startsWith('slack:')
          ? {
              downloadHeaders: { Authorization: `Bearer ${this.o.slackToken}` },
              downloadHeaderHosts: SLACK_FILE_HOSTS,
            }
          : {}),
      });
      this.uploaders.set(source, uploader);
    }
    return uploader;
  }

  private archive(source: string): Promise<ExportArchive | undefined> {
    let archive = this.archives.get(source);
    if (archive === undefined) {
      archive = (async () => {
        const run = (await this.o
          .db('ingest_runs')
          .where({ source_key: source, status: 'done' })
          // Live API runs (`ferry ingest slack-api`) have no archive: the export's is used.
          .whereNot('input', 'like', 'slack-api:%')
          .orderBy('id', 'desc')
          .first('input')) as { input: string } | undefined;
        if (run === undefined) return undefined;
        return this.o.openArchive(run.input).catch((e: unknown) => {
          this.o.logger.warn(
            { source, err: e instanceof Error ? e.message : String(e) },
            'cannot open the export for file bodies',
          );
          return undefined;
        });
      })();
      this.archives.set(source, archive);
    }
    return archive;
  }

  async close(): Promise<void> {
    for (const a of this.archives.values()) await (await a)?.close();
  }
}

function mediaFromRow(row: Record<string, unknown>): MediaRecord {
  const opt = <T>(v: unknown): T | undefined =>
    v === null || v === undefined ? undefined : (v as T);
  return {
    key: toMediaKey(String(row.key)),
    source: sourceKey(String(row.source_key)),
    nativeId: String(row.native_id),
    availability: row.availability as MediaRecord['availability'],
    name: opt<string>(row.name),
    title: opt<string>(row.title),
    mimetype: opt<string>(row.mimetype),
    size: opt<number>(row.size),
    localPath: opt<string>(row.local_path),
    remoteUrl: opt<string>(row.remote_url),
    width: opt<number>(row.width),
    height: opt<number>(row.height),
    mode: opt<string>(row.mode),
  };
}

export type { RoomId };
