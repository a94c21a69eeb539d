/**
 * The last `ferry verify` result of each room (`matrix_verify_rooms`, migration 0008). Verify
 * reads both sides and writes nothing; the command hands each room's findings here, and
 * `ferry report` reads them back. One row per room, replaced by each verify of that room.
 */
import type { Knex } from 'knex';
import type { RoomVerification } from '../model/room-verification.js';

/** One room's findings, as `src/matrix/verify.ts` counts them, with its verdict. */
export interface VerifyRoomResult extends RoomVerification {
  ok: boolean;
}

/** A stored result, with when it was taken. */
export interface StoredVerifyResult extends VerifyRoomResult {
  verified_at: string;
}

export async function recordVerifyResult(db: Knex, r: VerifyRoomResult): Promise<void> {
  const row = {
    room_id: r.room_id,
    ok: r.ok,
    expected: r.expected,
    found: r.found,
    missing: r.missing,
    duplicated: r.duplicated,
    out_of_order: r.out_of_order,
    wrong_sender: r.wrong_sender,
    wrong_ts: r.wrong_ts,
    not_pushed: r.not_pushed,
    late: r.late,
    foreign_events: r.foreign,
    examples: JSON.stringify(r.examples),
  };
  await db('matrix_verify_rooms')
    .insert({ room_key: r.room, ...row })
    .onConflict('room_key')
    .merge({ ...row, verified_at: db.fn.now() });
}

interface VerifyRow {
  room_key: string;
  room_id: string | null;
  verified_at: Date | string;
  ok: boolean;
  expected: number | string;
  found: number | string;
  missing: number | string;
  duplicated: number | string;
  out_of_order: number | string;
  wrong_sender: number | string;
  wrong_ts: number | string;
  not_pushed: number | string;
  late: number | string;
  foreign_events: number | string;
  examples: unknown;
}

/** Every stored result, by room key. */
export async function readVerifyResults(db: Knex): Promise<Map<string, StoredVerifyResult>> {
  const rows = (await db('matrix_verify_rooms').select('*')) as VerifyRow[];
  const out = new Map<string, StoredVerifyResult>();
  for (const r of rows) {
    const examples =
      typeof r.examples === 'string' ? (JSON.parse(r.examples) as unknown) : r.examples;
    out.set(r.room_key, {
      room: r.room_key,
      room_id: r.room_id,
      verified_at: new Date(r.verified_at).toISOString(),
      ok: r.ok,
      expected: Number(r.expected),
      found: Number(r.found),
      missing: Number(r.missing),
      duplicated: Number(r.duplicated),
      out_of_order: Number(r.out_of_order),
      wrong_sender: Number(r.wrong_sender),
      wrong_ts: Number(r.wrong_ts),
      not_pushed: Number(r.not_pushed),
      late: Number(r.late),
      foreign: Number(r.foreign_events),
      examples: Array.isArray(examples) ? examples.map(String) : [],
    });
  }
  return out;
}
