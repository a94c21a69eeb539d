/**
 * Reading and writing `matrix_room_watermarks` (migration 0007; the model type is
 * `MatrixRoomWatermark` in src/model/watermark.ts). The CLI reads them all before an ingest and
 * writes each one through `IngestOptions.onCheckpoint`, inside the transaction that commits the
 * events it covers.
 */
import type { Knex } from 'knex';
import { sourceKey, type MatrixRoomWatermark } from '../model/index.js';

interface WatermarkRow {
  source_key: string;
  room_id: string;
  complete_token: string | null;
  pass_top_token: string | null;
  pass_low_token: string | null;
}

/** Every stored watermark (one row per room), by source then room ID. */
export async function readMatrixRoomWatermarks(
  db: Knex | Knex.Transaction,
): Promise<Map<string, Map<string, MatrixRoomWatermark>>> {
  const rows = (await db('matrix_room_watermarks').select('*')) as WatermarkRow[];
  const out = new Map<string, Map<string, MatrixRoomWatermark>>();
  for (const r of rows) {
    const bySource = out.get(r.source_key) ?? new Map<string, MatrixRoomWatermark>();
    out.set(r.source_key, bySource);
    bySource.set(r.room_id, {
      kind: 'matrix_room',
      source: sourceKey(r.source_key),
      roomId: r.room_id,
      ...(r.complete_token === null ? {} : { complete: r.complete_token }),
      ...(r.pass_top_token !== null && r.pass_low_token !== null
        ? { pass: { top: r.pass_top_token, low: r.pass_low_token } }
        : {}),
    });
  }
  return out;
}

/** Inserts or replaces one room's watermark. */
export async function writeMatrixRoomWatermark(
  db: Knex | Knex.Transaction,
  w: MatrixRoomWatermark,
): Promise<void> {
  await db.raw(
    `insert into matrix_room_watermarks
       (source_key, room_id, complete_token, pass_top_token, pass_low_token)
     values (?, ?, ?, ?, ?)
     on conflict (source_key, room_id) do update set
       complete_token = excluded.complete_token, pass_top_token = excluded.pass_top_token,
       pass_low_token = excluded.pass_low_token, updated_at = now()`,
    [w.source, w.roomId, w.complete ?? null, w.pass?.top ?? null, w.pass?.low ?? null],
  );
}
