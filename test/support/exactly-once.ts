/**
 * An independent exactly-once check of a push: it reads the rooms back (through the Synapse
 * admin API or the fake homeserver's own records, never through the writer's code) and compares
 * what it finds with the store.
 *
 * Every Matrix event ferry sends carries `content['ferry.source'] = {key, part}`. Per room:
 *
 * - no `key#part` may appear twice in the timeline (duplicated);
 * - every ledger row with status `sent` must appear (missing);
 * - every store event has a part-0 ledger row, sent or skipped (unwritten);
 * - the room's messages (store kinds `message` and `file`) appear in the timeline exactly in
 *   the order of the store's `events.order_key` (then part), and they are precisely the store's
 *   messages whose part 0 the ledger records as sent (message order);
 * - more loosely, the order keys of all other ferry events are non-decreasing along the
 *   timeline, except relation-like kinds the writer may append late (reactions, edits, pins,
 *   redactions) and end-of-room state (`~pins`, `~archive`).
 *
 * Also: the synthetic Slack export used by the push tests, and a ferry config writer that gives
 * each scenario its own user and alias prefix (so one Synapse can hold several imports).
 */
import { writeFileSync } from 'node:fs';
import type { Knex } from 'knex';
import { stringify } from 'yaml';
import { generateSlackExport, type GenerateResult } from '../../bench/generate-slack-export.js';
import type { SynapseHandle } from './synapse.js';

export const PROVENANCE = 'ferry.source';
/** Kinds the writer may legitimately append after later events (room-writer.ts `LATE_OK`). */
const ORDER_FREE = new Set(['reaction', 'edit', 'pin', 'redaction']);
/** Store kinds that become `m.room.message` bodies. */
const MESSAGE_KINDS = new Set(['message', 'file']);

/** The part of a timeline event the check needs (AdminReader's `ReadEvent`, the fake's `ClientEvent`). */
export interface TimelineEntry {
  event_id: string;
  type: string;
  content: Record<string, unknown>;
}

export interface RoomReport {
  room: string;
  roomId: string;
  /** Timeline events carrying a provenance. */
  ferryEvents: number;
  sentRows: number;
  /** `m.room.message` bodies of store messages found, in timeline order. */
  messages: number;
}

export interface ExactlyOnceReport {
  rooms: RoomReport[];
  /** Store rooms that have no Matrix room. */
  roomsWithoutId: string[];
  /** `room key#part ×n` for every provenance seen more than once. */
  duplicated: string[];
  /** Sent ledger rows whose provenance is not in the room. */
  missing: string[];
  /** Store events without a part-0 ledger row. */
  unwritten: string[];
  /** Message order problems (first few per room). */
  messageOrder: string[];
  /** Other ferry events out of order-key order (first few per room). */
  outOfOrder: string[];
  /** Messages without a string body. */
  badBodies: string[];
  totals: { ferryEvents: number; sentRows: number; messages: number };
}

interface LedgerRowLite {
  event_key: string;
  part: number;
  order_key: string;
  status: string;
}

/**
 * Checks every room of the store (`matrix_rooms`) that the given timeline reader can read.
 * `rooms` restricts the check to these room keys.
 */
export async function checkExactlyOnce(
  db: Knex,
  timeline: (roomId: string) => Promise<TimelineEntry[]> | TimelineEntry[],
  rooms?: string[],
): Promise<ExactlyOnceReport> {
  const report: ExactlyOnceReport = {
    rooms: [],
    roomsWithoutId: [],
    duplicated: [],
    missing: [],
    unwritten: [],
    messageOrder: [],
    outOfOrder: [],
    badBodies: [],
    totals: { ferryEvents: 0, sentRows: 0, messages: 0 },
  };
  let q = db('rooms as r')
    .leftJoin('matrix_rooms as m', 'm.room_key', 'r.key')
    .select('r.key', 'm.room_id')
    .orderBy('r.key');
  if (rooms !== undefined) q = q.whereIn('r.key', rooms);
  const roomRows = (await q) as { key: string; room_id: string | null }[];

  for (const { key: room, room_id: roomId } of roomRows) {
    if (roomId === null) {
      report.roomsWithoutId.push(room);
      continue;
    }
    const events = (await db('events')
      .where({ room_key: room })
      .select('key', 'kind', 'order_key')) as {
      key: string;
      kind: string;
      order_key: string;
    }[];
    const storeEvent = new Map(events.map((e) => [e.key, e]));
    const ledger = (await db('matrix_ledger')
      .where({ room_key: room })
      .select('event_key', 'part', 'order_key', 'status')) as LedgerRowLite[];
    const ledgerByProv = new Map(ledger.map((l) => [`${l.event_key}#${l.part}`, l]));

    // 1. The timeline, counted by provenance.
    const seen = new Map<string, number>();
    const sequence: { prov: string; key: string; part: number; type: string; body: unknown }[] = [];
    for (const ev of await timeline(roomId)) {
      const p = ev.content[PROVENANCE] as { key?: unknown; part?: unknown } | undefined;
      if (p === undefined || typeof p.key !== 'string' || typeof p.part !== 'number') continue;
      const prov = `${p.key}#${p.part}`;
      seen.set(prov, (seen.get(prov) ?? 0) + 1);
      sequence.push({ prov, key: p.key, part: p.part, type: ev.type, body: ev.content.body });
    }
    for (const [prov, n] of seen) if (n > 1) report.duplicated.push(`${room} ${prov} ×${n}`);

    // 2. Every sent ledger row is in the room.
    const sent = ledger.filter((l) => l.status === 'sent');
    for (const l of sent) {
      const prov = `${l.event_key}#${l.part}`;
      if (!seen.has(prov)) report.missing.push(`${room} ${prov}`);
    }

    // 3. Every store event was handled (sent or skipped).
    for (const e of events) {
      const row = ledgerByProv.get(`${e.key}#0`);
      if (row === undefined || (row.status !== 'sent' && row.status !== 'skipped')) {
        report.unwritten.push(`${room} ${e.key} (${e.kind}) ${row?.status ?? 'no ledger row'}`);
      }
    }

    // 4. Messages in store order, and exactly the sent ones.
    const messages = sequence.filter(
      (s) => MESSAGE_KINDS.has(storeEvent.get(s.key)?.kind ?? '') && s.type === 'm.room.message',
    );
    const orderProblems: string[] = [];
    for (let i = 1; i < messages.length; i++) {
      const a = messages[i - 1]!;
      const b = messages[i]!;
      const ka = storeEvent.get(a.key)!.order_key;
      const kb = storeEvent.get(b.key)!.order_key;
      if (ka > kb || (ka === kb && a.part >= b.part))
        orderProblems.push(`${room}: ${b.prov} (${kb}) after ${a.prov} (${ka})`);
    }
    const expectedMessages = new Set(
      events
        .filter(
          (e) => MESSAGE_KINDS.has(e.kind) && ledgerByProv.get(`${e.key}#0`)?.status === 'sent',
        )
        .map((e) => e.key),
    );
    const foundMessages = new Set(messages.map((m) => m.key));
    for (const k of expectedMessages)
      if (!foundMessages.has(k))
        orderProblems.push(`${room}: sent message ${k} not among the room's messages`);
    for (const k of foundMessages)
      if (!expectedMessages.has(k))
        orderProblems.push(`${room}: message ${k} in the room but not sent per the ledger`);
    report.messageOrder.push(...orderProblems.slice(0, 5));
    for (const m of messages)
      if (typeof m.body !== 'string') report.badBodies.push(`${room} ${m.prov}`);

    // 5. Everything else in order-key order (looser: equal keys are fine, late kinds excepted).
    const outOfOrder: string[] = [];
    let max = '';
    for (const s of sequence) {
      const kind = storeEvent.get(s.key)?.kind;
      if (kind !== undefined && ORDER_FREE.has(kind)) continue;
      const order = ledgerByProv.get(s.prov)?.order_key;
      if (order === undefined || order.startsWith('~')) continue;
      if (order < max) outOfOrder.push(`${room}: ${s.prov} (${order}) after ${max}`);
      else max = order;
    }
    report.outOfOrder.push(...outOfOrder.slice(0, 5));

    report.rooms.push({
      room,
      roomId,
      ferryEvents: sequence.length,
      sentRows: sent.length,
      messages: messages.length,
    });
    report.totals.ferryEvents += sequence.length;
    report.totals.sentRows += sent.length;
    report.totals.messages += messages.length;
  }
  return report;
}

/** The problem lists of a report, for one `toEqual` with a readable diff. */
export function problems(r: ExactlyOnceReport): Record<string, string[]> {
  return {
    roomsWithoutId: r.roomsWithoutId,
    duplicated: r.duplicated,
    missing: r.missing,
    unwritten: r.unwritten,
    messageOrder: r.messageOrder,
    outOfOrder: r.outOfOrder,
    badBodies: r.badBodies,
  };
}

export const NO_PROBLEMS: Record<string, string[]> = {
  roomsWithoutId: [],
  duplicated: [],
  missing: [],
  unwritten: [],
  messageOrder: [],
  outOfOrder: [],
  badBodies: [],
};

/** Rooms with more than one pending ledger row (the writer keeps at most one event in flight). */
export async function roomsWithSeveralPending(
  db: Knex,
): Promise<{ room_key: string; n: number }[]> {
  const rows = (await db('matrix_ledger')
    .where({ status: 'pending' })
    .groupBy('room_key')
    .havingRaw('count(*) > 1')
    .select('room_key', db.raw('count(*)::int as n'))) as { room_key: string; n: number }[];
  return rows;
}

export async function countWhere(db: Knex, sql: string): Promise<number> {
  const res = (await db.raw(sql)) as { rows: { n: number | string }[] };
  return Number(res.rows[0]?.n ?? 0);
}

/**
 * A small synthetic Slack export (bench/generate-slack-export.ts): `conversations` public
 * channels plus the workspace space, threads, reactions, edits, files without bodies, joins,
 * pins and bot messages.
 */
export function generateTestExport(
  out: string,
  o: { messages: number; conversations: number; seed?: number; users?: number },
): Promise<GenerateResult> {
  return generateSlackExport({
    messages: o.messages,
    out,
    seed: o.seed ?? 7,
    users: o.users ?? 30,
    minConversations: o.conversations,
    messagesPerConversation: Math.ceil(o.messages / o.conversations),
  });
}

/**
 * Writes a ferry config for `synapse` at `path`. `prefix` must start with the registration's
 * `_ferry_` so its namespaces still match; a distinct prefix per scenario keeps ghosts and
 * aliases apart on one homeserver.
 */
export function writeScenarioConfig(
  synapse: SynapseHandle,
  path: string,
  prefix: string,
  extra: Record<string, unknown> = {},
): string {
  if (!prefix.startsWith('_ferry_')) throw new Error('prefix must start with _ferry_');
  writeFileSync(
    path,
    stringify({
      matrix: {
        homeserver: synapse.baseUrl,
        registration: synapse.registrationPath,
        userPrefix: prefix,
        aliasPrefix: prefix,
        concurrency: 3,
        ...extra,
      },
    }),
  );
  return path;
}
