/**
 * `ferry verify`: reads every migrated room back from the homeserver and compares it with the
 * store and the writer's ledger (`matrix_ledger`, migrations/0002_matrix_push.ts).
 *
 * Every Matrix event ferry sends carries `content[PROVENANCE_KEY] = {key, part}` and has a
 * ledger row naming the event ID it got, the user it was sent as and its intended
 * `origin_server_ts`. Verification therefore needs no content comparison: per room it
 *
 * 1. pages through the whole timeline as the bot (`/messages`, `dir=f`, 1000 a page) and keeps
 *    one small entry per provenance (`key#part` → count, event ID, sender, ts, position);
 * 2. pages through the room's `sent` ledger rows and checks each against that map;
 * 3. checks the timeline order against the ledger's order keys;
 * 4. counts, with one SQL statement, store events that never got a ledger row.
 *
 * Memory is one map entry per ferry event of the room being verified; rooms are verified one
 * after the other. Nothing is written anywhere: verify is read-only on both sides.
 */
import type { Knex } from 'knex';
import { silentLogger, type Logger } from '../logger.js';
import type { MatrixClient } from './client.js';
import { MatrixHttpError } from './client-errors.js';
import { PROVENANCE_KEY } from './event-content.js';
import type { RoomVerification } from '../model/room-verification.js';
import { parseRoomId, type RoomId, type UserId } from './types.js';

export type { RoomVerification };

export interface VerifyOptions {
  db: Knex;
  client: MatrixClient;
  /** The appservice's sender: rooms are read as this user (it created and joined every room). */
  botUserId: UserId;
  /** Restrict to these room keys (`matrix_rooms.room_key`); every created room when absent. */
  rooms?: string[];
  logger?: Logger;
  /** Called after each room with the number of rooms verified so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called with every room's findings (listed in `by_room` or not), before the next room is
   * read. Verify writes nothing itself; the command stores these (`ferry report` shows them).
   */
  onRoom?: (v: RoomVerification, ok: boolean) => Promise<void>;
}

export interface VerifySummary {
  /** Rooms verified. */
  rooms: number;
  events_expected: number;
  events_found: number;
  missing: number;
  duplicated: number;
  out_of_order: number;
  wrong_sender: number;
  wrong_ts: number;
  not_pushed: number;
  /** See RoomVerification.late: informational. */
  late: number;
  /** True when every failure count above is 0 (`foreign` is not a failure). */
  ok: boolean;
  /** Rooms with a problem (a failure count or an example line); every room when `all` is set. */
  by_room: RoomVerification[];
}

const PAGE_LIMIT = 1000;
const LEDGER_PAGE = 5000;
const MAX_EXAMPLES = 5;
/** Kinds the writer may append after later events (room-writer.ts `LATE_OK`): position is irrelevant. */
const ORDER_FREE_KINDS: ReadonlySet<string> = new Set(['reaction', 'pin', 'edit', 'redaction']);

interface Copy {
  event_id: string;
  sender: string;
  ts: number;
}

/** What is kept of the room's events carrying one provenance. */
interface Seen extends Copy {
  count: number;
  /** Timeline position (0-based, across pages) of the first copy. */
  position: number;
  /** Further copies, only for duplicated provenances (rare). */
  extra?: Copy[];
  /** Order key of the matching sent ledger row, once matched (`null`: left out of the order check). */
  order?: string | null;
}

interface LedgerPageRow {
  event_key: string;
  part: number;
  order_key: string;
  event_id: string | null;
  sender: string | null;
  ts: number | string | null;
  kind: string | null;
}

/** Verifies the rooms; `all` lists every room in `by_room`, not only those with problems. */
export async function verifyRooms(o: VerifyOptions & { all?: boolean }): Promise<VerifySummary> {
  const logger = o.logger ?? silentLogger;
  let query = o
    .db('matrix_rooms')
    .whereNotNull('room_id')
    .select('room_key', 'room_id')
    .orderBy('room_key');
  if (o.rooms !== undefined) query = query.whereIn('room_key', o.rooms);
  const rooms = (await query) as { room_key: string; room_id: string }[];
  if (o.rooms !== undefined) {
    const known = new Set(rooms.map((r) => r.room_key));
    const unknown = o.rooms.filter((r) => !known.has(r));
    if (unknown.length > 0)
      logger.warn({ rooms: unknown }, 'rooms not created in Matrix, not verified');
  }

  const summary: VerifySummary = {
    rooms: 0,
    events_expected: 0,
    events_found: 0,
    missing: 0,
    duplicated: 0,
    out_of_order: 0,
    wrong_sender: 0,
    wrong_ts: 0,
    not_pushed: 0,
    late: 0,
    ok: true,
    by_room: [],
  };
  for (const [i, row] of rooms.entries()) {
    const v = await verifyRoom(o, logger, row.room_key, parseRoomId(row.room_id));
    summary.rooms += 1;
    summary.events_expected += v.expected;
    summary.events_found += v.found;
    summary.missing += v.missing;
    summary.duplicated += v.duplicated;
    summary.out_of_order += v.out_of_order;
    summary.wrong_sender += v.wrong_sender;
    summary.wrong_ts += v.wrong_ts;
    summary.not_pushed += v.not_pushed;
    summary.late += v.late;
    const failed = failures(v) > 0;
    if (failed) summary.ok = false;
    await o.onRoom?.(v, !failed);
    if (failed || v.examples.length > 0 || o.all === true) summary.by_room.push(v);
    logger.info(
      { room: v.room, expected: v.expected, found: v.found, ok: !failed },
      'room verified',
    );
    o.onProgress?.(i + 1, rooms.length);
  }
  return summary;
}

function failures(v: RoomVerification): number {
  return v.missing + v.duplicated + v.out_of_order + v.wrong_sender + v.wrong_ts + v.not_pushed;
}

async function verifyRoom(
  o: VerifyOptions,
  logger: Logger,
  roomKey: string,
  roomId: RoomId,
): Promise<RoomVerification> {
  const v: RoomVerification = {
    room: roomKey,
    room_id: roomId,
    expected: 0,
    found: 0,
    missing: 0,
    duplicated: 0,
    out_of_order: 0,
    wrong_sender: 0,
    wrong_ts: 0,
    not_pushed: 0,
    late: 0,
    foreign: 0,
    examples: [],
  };
  const note = (line: string): void => {
    if (v.examples.length < MAX_EXAMPLES) v.examples.push(line);
  };
  const seen = await readableTimeline(o, logger, roomKey, roomId, v, note);
  await checkLedger(o, roomKey, seen, v, note);
  checkOrder(seen, v, note);
  await countUnwritten(o, roomKey, v, note);
  return v;
}

type Note = (line: string) => void;

/** The timeline; a room the bot cannot read (gone, bot kicked) has all its events missing. */
async function readableTimeline(
  o: VerifyOptions,
  logger: Logger,
  roomKey: string,
  roomId: RoomId,
  v: RoomVerification,
  note: Note,
): Promise<Map<string, Seen>> {
  try {
    return await readTimeline(o, roomId, v);
  } catch (e) {
    if (!(e instanceof MatrixHttpError) || (e.status !== 403 && e.status !== 404)) throw e;
    logger.warn({ room: roomKey, status: e.status, errcode: e.errcode }, 'cannot read room');
    note(`cannot read ${roomId}: ${e.status} ${e.errcode ?? ''}`.trim());
    v.foreign = 0;
    return new Map();
  }
}

/** The sent ledger rows, in order key order, paged by (order_key, event_key, part). */
async function checkLedger(
  o: VerifyOptions,
  roomKey: string,
  seen: Map<string, Seen>,
  v: RoomVerification,
  note: Note,
): Promise<void> {
  let after: [string, string, number] | undefined;
  for (;;) {
    let page = o
      .db('matrix_ledger as l')
      .leftJoin('events as e', 'e.key', 'l.event_key')
      .where({ 'l.room_key': roomKey, 'l.status': 'sent' })
      .select('l.event_key', 'l.part', 'l.order_key', 'l.event_id', 'l.sender', 'l.ts', 'e.kind')
      .orderBy([{ column: 'l.order_key' }, { column: 'l.event_key' }, { column: 'l.part' }])
      .limit(LEDGER_PAGE);
    if (after !== undefined) {
      page = page.andWhereRaw('(l.order_key, l.event_key, l.part) > (?, ?, ?)', after);
    }
    const rows = (await page) as LedgerPageRow[];
    if (rows.length === 0) return;
    const last = rows[rows.length - 1]!;
    after = [last.order_key, last.event_key, last.part];
    for (const row of rows) checkRow(row, seen, v, note);
  }
}

/** Order: the map iterates in insertion order, i.e. timeline order of first copies. */
function checkOrder(seen: Map<string, Seen>, v: RoomVerification, note: Note): void {
  let max: string | undefined;
  for (const [prov, s] of seen) {
    if (s.order === undefined || s.order === null) continue;
    if (max !== undefined && s.order < max) {
      v.out_of_order += 1;
      note(`out of order: ${prov} (order ${s.order}) at position ${s.position} after order ${max}`);
    } else {
      max = s.order;
    }
  }
}

/**
 * Store events never written: no ledger row for part 0. Those older than what the room already
 * showed when they were ingested are `late` (reported, not a failure: push counts them and
 * sends them only with --append-late); the rest are `not_pushed`.
 */
async function countUnwritten(
  o: VerifyOptions,
  roomKey: string,
  v: RoomVerification,
  note: Note,
): Promise<void> {
  const counts = await o.db.raw<{ rows: { late: number | string; pending: number | string }[] }>(
    `select count(*) filter (where e.order_key < coalesce(m.high_water, '')) as late,
            count(*) filter (where e.order_key >= coalesce(m.high_water, '')) as pending
       from events e join matrix_rooms m on m.room_key = e.room_key
      where e.room_key = ? and e.kind <> 'pin'
        and not exists (select 1 from matrix_ledger l where l.event_key = e.key and l.part = 0)`,
    [roomKey],
  );
  v.late = Number(counts.rows[0]?.late ?? 0);
  v.not_pushed = Number(counts.rows[0]?.pending ?? 0);
  if (v.not_pushed === 0) return;
  const unwritten = await o.db.raw<{ rows: { key: string }[] }>(
    `select e.key from events e join matrix_rooms m on m.room_key = e.room_key
      where e.room_key = ? and e.kind <> 'pin' and e.order_key >= coalesce(m.high_water, '')
        and not exists (select 1 from matrix_ledger l where l.event_key = e.key and l.part = 0)
      order by e.order_key limit 3`,
    [roomKey],
  );
  const examples = unwritten.rows.map((r) => r.key).join(', ');
  note(`not pushed: ${v.not_pushed} store events, e.g. ${examples}`);
}

/** Pages through the whole room as the bot; returns the provenance map and counts `foreign`. */
async function readTimeline(
  o: VerifyOptions,
  roomId: RoomId,
  v: RoomVerification,
): Promise<Map<string, Seen>> {
  const seen = new Map<string, Seen>();
  let from: string | undefined;
  let position = 0;
  for (;;) {
    const page = await o.client.messages(roomId, {
      dir: 'f',
      limit: PAGE_LIMIT,
      userId: o.botUserId,
      ...(from === undefined ? {} : { from }),
    });
    for (const ev of page.chunk) {
      const prov = provenanceOf(ev.content[PROVENANCE_KEY]);
      if (prov === undefined) {
        if (ev.sender !== o.botUserId) v.foreign += 1;
      } else {
        const copy: Copy = { event_id: ev.event_id, sender: ev.sender, ts: ev.origin_server_ts };
        const s = seen.get(prov);
        if (s === undefined) seen.set(prov, { ...copy, count: 1, position });
        else if (ev.type !== 'm.room.member') {
          // A later member event with the same provenance is a profile change re-sending the
          // join with its content (identical state replays are deduplicated by the server).
          s.count += 1;
          (s.extra ??= []).push(copy);
        }
      }
      position += 1;
    }
    if (page.end === undefined || page.chunk.length === 0) break;
    from = page.end;
  }
  return seen;
}

function provenanceOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { key, part } = value as { key?: unknown; part?: unknown };
  if (typeof key !== 'string' || typeof part !== 'number') return undefined;
  return `${key}#${part}`;
}

/** Compares one sent ledger row with what the room holds under its provenance. */
function checkRow(
  row: LedgerPageRow,
  seen: Map<string, Seen>,
  v: RoomVerification,
  note: (line: string) => void,
): void {
  const prov = `${row.event_key}#${row.part}`;
  v.expected += 1;
  const s = seen.get(prov);
  if (s === undefined) {
    v.missing += 1;
    note(`missing: ${prov} (ledger ${row.event_id ?? '?'})`);
    return;
  }
  v.found += 1;
  const endOfRoom = row.order_key.startsWith('~');
  const orderFree =
    endOfRoom ||
    row.event_key.startsWith('member:') ||
    (row.kind !== null && ORDER_FREE_KINDS.has(row.kind));
  s.order = orderFree ? null : row.order_key;

  if (s.count > 1) {
    v.duplicated += s.count - 1;
    const ids = [s.event_id, ...(s.extra ?? []).map((c) => c.event_id)];
    note(`duplicated: ${prov} ${s.count} times (${ids.join(', ')})`);
  }
  // Compare the copy the ledger names (the first one when it names none of them).
  const copy = [s, ...(s.extra ?? [])].find((c) => c.event_id === row.event_id) ?? s;
  if (row.event_id !== null && copy.event_id !== row.event_id && s.count === 1) {
    note(`resent: ${prov} is ${copy.event_id} in the room, ledger says ${row.event_id}`);
  }
  if (row.sender !== null && copy.sender !== row.sender) {
    v.wrong_sender += 1;
    note(`wrong sender: ${prov} (${copy.event_id}) sent as ${copy.sender}, expected ${row.sender}`);
  }
  if (!endOfRoom && row.ts !== null && copy.ts !== Number(row.ts)) {
    v.wrong_ts += 1;
    note(`wrong ts: ${prov} (${copy.event_id}) has ${copy.ts}, expected ${Number(row.ts)}`);
  }
}
