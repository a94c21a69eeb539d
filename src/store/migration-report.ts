/**
 * The data of `ferry report` (rendered as one HTML page by src/cli/migration-report-html.ts, or
 * printed with `--json`): per room what the source held, what push wrote or skipped, how its
 * files came out and what the last verify found; totals, messages per month, the slowest rooms
 * and what was lost in conversion. Built from the store and the push ledger alone: no network.
 *
 * `status` is `ferry status --json` itself, and every per-room count comes from the same
 * queries grouped by room (store-counts.ts), so the rooms add up to the status totals.
 */
import type { RoomKind } from '../model/index.js';
import {
  fileOutcomes,
  latestRunSkips,
  MESSAGE_KINDS,
  messagesPerMonth,
  roomRows,
  unsupportedBlocks,
  type RoomRow,
} from './migration-report-queries.js';
import { storeStatus, type StoreStatus } from './status.js';
import { eventKindCounts, ledgerCounts, unpushedCounts } from './store-counts.js';
import type { Store } from './store.js';
import { readVerifyResults, type StoredVerifyResult } from './verify-results.js';

/** File events by how the writer posted them (see `fileOutcomes`). */
export interface FileCounts {
  total: number;
  /** Uploaded to the homeserver (an mxc URI). */
  uploaded: number;
  /** Posted as a link to where the file lives. */
  linked: number;
  /** Posted as a notice saying why the file is not there, by reason. */
  unavailable: Record<string, number>;
  /** File events not sent (yet, or skipped). */
  not_sent: number;
}

/** `not_pushed`: push has not registered the room yet. */
export type PushRoomStatus = 'not_pushed' | 'pending' | 'running' | 'done' | 'failed';

/** The last verify of a room; `stale` when a push finished the room after it. */
export type RoomVerifyState = StoredVerifyResult & { stale: boolean };

export interface RoomReport {
  key: string;
  name: string | null;
  kind: RoomKind;
  source: string;
  matrix: {
    alias: string | null;
    room_id: string | null;
    status: PushRoomStatus;
    error: string | null;
  };
  /** Stored events of kind message or file (MESSAGE_KINDS). */
  messages: number;
  /** Every stored event of the room. */
  events: number;
  events_by_kind: Record<string, number>;
  /** The ledger (part 0: one per model event) and the store events it has no row for. */
  written: {
    sent: number;
    skipped: Record<string, number>;
    skipped_total: number;
    pending: number;
    not_pushed: number;
    /** Events older than what the room showed when they arrived (not sent; counted by push). */
    late: number;
  };
  files: FileCounts;
  /** Wall time of the room's writes added up, and the last write's start and end. */
  push: { ms: number; started_at: string | null; finished_at: string | null };
  /** null: never verified. */
  verify: RoomVerifyState | null;
  lost: {
    /** Messages with a Block Kit block the converter does not know (shown as its text), by type. */
    unsupported_blocks: Record<string, number>;
    /** Encrypted events left encrypted (from the ingest run), by why. */
    undecryptable: Record<string, number>;
  };
}

export interface MigrationReport {
  generated_at: string;
  /** Exactly what `ferry status --json` prints. */
  status: StoreStatus;
  totals: {
    rooms: number;
    messages: number;
    events: number;
    sent: number;
    skipped: number;
    not_pushed: number;
    files: FileCounts;
    verify: { verified: number; ok: number; mismatch: number; stale: number; not_verified: number };
  };
  /** Every stored room (spaces too), by room key. */
  rooms: RoomReport[];
  /** Messages per UTC month from the first to the last, months without messages as 0. */
  timeline: { month: string; messages: number }[];
  /** Up to 10 rooms with the most push time. */
  slowest: { room: string; name: string | null; ms: number; sent: number; per_second: number }[];
  lost: {
    /** The ingest runs the skip figures come from (the latest finished one of each source). */
    runs: { id: number; source: string; input: string }[];
    /** Not carried over at all, by reason (ingest). */
    skipped: Record<string, number>;
    /** Carried over only in part, by reason (ingest). */
    partial: Record<string, number>;
    undecryptable: Record<string, number>;
    /** Not sent by push, by the writer's reason. */
    push_skipped: Record<string, number>;
    unsupported_blocks: Record<string, number>;
    files_unavailable: Record<string, number>;
  };
}

export interface MigrationReportOptions {
  /** Block Kit block types the converter renders (src/mapping's list; the store cannot know it). */
  supportedBlockTypes: readonly string[];
  now?: () => Date;
}

export async function migrationReport(
  store: Store,
  o: MigrationReportOptions,
): Promise<MigrationReport> {
  const db = store.knex;
  const status = await storeStatus(store);
  const rooms = (await roomRows(db)).map(emptyRoom);
  const byKey = new Map(rooms.map((r) => [r.key, r]));
  const at = (key: string | null): RoomReport | undefined =>
    key === null ? undefined : byKey.get(key);
  for (const c of await eventKindCounts(db, 'room')) addEvents(at(c.room_key), c.kind, c.n);
  for (const c of await ledgerCounts(db, 'room')) addLedger(at(c.room_key), c.status, c.note, c.n);
  for (const c of await unpushedCounts(db, 'room')) {
    const room = at(c.room_key);
    if (room !== undefined) room.written.not_pushed += c.n;
  }
  for (const f of await fileOutcomes(db)) addFiles(at(f.room_key), f.outcome, f.n);
  for (const b of await unsupportedBlocks(db, o.supportedBlockTypes)) {
    const room = at(b.room_key);
    if (room !== undefined) add(room.lost.unsupported_blocks, b.type, b.n);
  }
  const runs = await latestRunSkips(db);
  for (const run of runs) {
    for (const [key, why] of Object.entries(run.undecryptable)) {
      const room = at(key);
      if (room !== undefined)
        for (const [w, n] of Object.entries(why)) add(room.lost.undecryptable, w, n);
    }
  }
  const verified = await readVerifyResults(db);
  for (const room of rooms)
    room.verify = verifyState(verified.get(room.key), room.push.finished_at);
  return {
    generated_at: (o.now?.() ?? new Date()).toISOString(),
    status,
    totals: totals(rooms),
    rooms,
    timeline: fillMonths(await messagesPerMonth(db)),
    slowest: slowest(rooms),
    lost: lost(rooms, runs),
  };
}

function emptyRoom(r: RoomRow): RoomReport {
  return {
    key: r.key,
    name: r.name,
    kind: r.kind,
    source: r.source_key,
    matrix: {
      alias: r.alias,
      room_id: r.room_id,
      status: r.status ?? 'not_pushed',
      error: r.error,
    },
    messages: 0,
    events: 0,
    events_by_kind: {},
    written: {
      sent: 0,
      skipped: {},
      skipped_total: 0,
      pending: 0,
      not_pushed: 0,
      late: r.late_events,
    },
    files: emptyFiles(),
    push: { ms: r.push_ms, started_at: r.started_at, finished_at: r.finished_at },
    verify: null,
    lost: { unsupported_blocks: {}, undecryptable: {} },
  };
}

const emptyFiles = (): FileCounts => ({
  total: 0,
  uploaded: 0,
  linked: 0,
  unavailable: {},
  not_sent: 0,
});

function add(into: Record<string, number>, key: string, n: number): void {
  into[key] = (into[key] ?? 0) + n;
}

function addEvents(room: RoomReport | undefined, kind: string, n: number): void {
  if (room === undefined) return;
  room.events += n;
  add(room.events_by_kind, kind, n);
  if (MESSAGE_KINDS.includes(kind)) room.messages += n;
}

function addLedger(
  room: RoomReport | undefined,
  status: 'pending' | 'sent' | 'skipped',
  note: string | null,
  n: number,
): void {
  if (room === undefined) return;
  switch (status) {
    case 'sent':
      room.written.sent += n;
      break;
    case 'pending':
      room.written.pending += n;
      break;
    case 'skipped':
      room.written.skipped_total += n;
      add(room.written.skipped, note ?? 'unknown', n);
      break;
  }
}

function addFiles(room: RoomReport | undefined, outcome: string, n: number): void {
  if (room === undefined) return;
  addFileOutcome(room.files, outcome, n);
}

function addFileOutcome(files: FileCounts, outcome: string, n: number): void {
  files.total += n;
  if (outcome === 'uploaded') files.uploaded += n;
  else if (outcome === 'linked') files.linked += n;
  else if (outcome === 'not_sent') files.not_sent += n;
  else add(files.unavailable, outcome.replace(/^unavailable:/, ''), n);
}

function verifyState(
  v: StoredVerifyResult | undefined,
  finishedAt: string | null,
): RoomVerifyState | null {
  if (v === undefined) return null;
  return { ...v, stale: finishedAt !== null && finishedAt > v.verified_at };
}

function totals(rooms: readonly RoomReport[]): MigrationReport['totals'] {
  const files = emptyFiles();
  const t: MigrationReport['totals'] = {
    rooms: rooms.length,
    messages: 0,
    events: 0,
    sent: 0,
    skipped: 0,
    not_pushed: 0,
    files,
    verify: { verified: 0, ok: 0, mismatch: 0, stale: 0, not_verified: 0 },
  };
  for (const r of rooms) {
    t.messages += r.messages;
    t.events += r.events;
    t.sent += r.written.sent;
    t.skipped += r.written.skipped_total;
    t.not_pushed += r.written.not_pushed;
    files.total += r.files.total;
    files.uploaded += r.files.uploaded;
    files.linked += r.files.linked;
    files.not_sent += r.files.not_sent;
    for (const [k, n] of Object.entries(r.files.unavailable)) add(files.unavailable, k, n);
    if (r.verify === null) t.verify.not_verified += 1;
    else {
      t.verify.verified += 1;
      t.verify[r.verify.ok ? 'ok' : 'mismatch'] += 1;
      if (r.verify.stale) t.verify.stale += 1;
    }
  }
  return t;
}

/** Every month from the first to the last with messages, the empty ones as 0. */
export function fillMonths(
  rows: readonly { month: string; n: number }[],
): MigrationReport['timeline'] {
  const first = rows[0];
  const last = rows[rows.length - 1];
  if (first === undefined || last === undefined) return [];
  const byMonth = new Map(rows.map((r) => [r.month, r.n]));
  const out: MigrationReport['timeline'] = [];
  let [y, m] = first.month.split('-').map(Number) as [number, number];
  for (;;) {
    const month = `${y}-${String(m).padStart(2, '0')}`;
    out.push({ month, messages: byMonth.get(month) ?? 0 });
    if (month >= last.month) return out;
    m += 1;
    if (m > 12) [y, m] = [y + 1, 1];
  }
}

function slowest(rooms: readonly RoomReport[]): MigrationReport['slowest'] {
  return rooms
    .filter((r) => r.push.ms > 0)
    .sort((a, b) => b.push.ms - a.push.ms || a.key.localeCompare(b.key))
    .slice(0, 10)
    .map((r) => ({
      room: r.key,
      name: r.name,
      ms: r.push.ms,
      sent: r.written.sent,
      per_second: Math.round((r.written.sent / r.push.ms) * 1000 * 10) / 10,
    }));
}

function lost(
  rooms: readonly RoomReport[],
  runs: Awaited<ReturnType<typeof latestRunSkips>>,
): MigrationReport['lost'] {
  const out: MigrationReport['lost'] = {
    runs: runs.map((r) => ({ id: r.id, source: r.source_key, input: r.input })),
    skipped: {},
    partial: {},
    undecryptable: {},
    push_skipped: {},
    unsupported_blocks: {},
    files_unavailable: {},
  };
  for (const run of runs) {
    for (const [k, n] of Object.entries(run.skipped)) add(out.skipped, k, n);
    for (const [k, n] of Object.entries(run.lost)) add(out.partial, k, n);
    for (const why of Object.values(run.undecryptable))
      for (const [k, n] of Object.entries(why)) add(out.undecryptable, k, n);
  }
  for (const r of rooms) {
    for (const [k, n] of Object.entries(r.written.skipped)) add(out.push_skipped, k, n);
    for (const [k, n] of Object.entries(r.lost.unsupported_blocks))
      add(out.unsupported_blocks, k, n);
    for (const [k, n] of Object.entries(r.files.unavailable)) add(out.files_unavailable, k, n);
  }
  return out;
}
