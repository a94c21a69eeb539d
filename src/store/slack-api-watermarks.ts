/**
 * Reading and writing `slack_api_watermarks` (migration 0006; the model type is
 * src/model/watermark.ts). The CLI reads them all before an ingest and writes each one through
 * `IngestOptions.onCheckpoint`, inside the transaction that commits its messages.
 */
import type { Knex } from 'knex';
import { sourceKey, type ConversationWatermark } from '../model/index.js';

interface WatermarkRow {
  source_key: string;
  conversation_id: string;
  complete_ts: string | null;
  pass_top_ts: string | null;
  pass_low_ts: string | null;
  pass_floor_ts: string | null;
}

/** Every stored watermark (a few rows per conversation at most), by source then conversation. */
export async function readSlackApiWatermarks(
  db: Knex | Knex.Transaction,
): Promise<Map<string, Map<string, ConversationWatermark>>> {
  const rows = (await db('slack_api_watermarks').select('*')) as WatermarkRow[];
  const out = new Map<string, Map<string, ConversationWatermark>>();
  for (const r of rows) {
    const bySource = out.get(r.source_key) ?? new Map<string, ConversationWatermark>();
    out.set(r.source_key, bySource);
    bySource.set(r.conversation_id, {
      kind: 'slack_conversation',
      source: sourceKey(r.source_key),
      conversation: r.conversation_id,
      complete: r.complete_ts ?? undefined,
      pass:
        r.pass_top_ts !== null && r.pass_low_ts !== null && r.pass_floor_ts !== null
          ? { top: r.pass_top_ts, low: r.pass_low_ts, floor: r.pass_floor_ts }
          : undefined,
    });
  }
  return out;
}

/** Inserts or replaces one conversation's watermark. */
export async function writeSlackApiWatermark(
  db: Knex | Knex.Transaction,
  w: ConversationWatermark,
): Promise<void> {
  await db.raw(
    `insert into slack_api_watermarks
       (source_key, conversation_id, complete_ts, pass_top_ts, pass_low_ts, pass_floor_ts)
     values (?, ?, ?, ?, ?, ?)
     on conflict (source_key, conversation_id) do update set
       complete_ts = excluded.complete_ts, pass_top_ts = excluded.pass_top_ts,
       pass_low_ts = excluded.pass_low_ts, pass_floor_ts = excluded.pass_floor_ts,
       updated_at = now()`,
    [
      w.source,
      w.conversation,
      w.complete ?? null,
      w.pass?.top ?? null,
      w.pass?.low ?? null,
      w.pass?.floor ?? null,
    ],
  );
}
