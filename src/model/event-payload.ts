/**
 * How a TimelineEvent is split between indexed columns and the `payload` jsonb column, and put
 * back together when read.
 */
import {
  eventKey,
  roomKey,
  sourceKey,
  userKey,
  type OrderKey,
  type TimelineEvent,
} from './index.js';

/** Everything that has no column of its own. */
export function eventPayload(event: TimelineEvent): Record<string, unknown> {
  const {
    key: _key,
    room: _room,
    order: _order,
    ts: _ts,
    sender: _sender,
    kind: _kind,
    source: _source,
    nativeId: _nativeId,
    ...rest
  } = event;
  return rest;
}

export interface EventRow {
  key: string;
  room_key: string;
  order_key: string;
  ts: number;
  sender: string;
  kind: string;
  source_key: string;
  native_id: string;
  payload: Record<string, unknown>;
}

/** Rebuilds the model event from a stored row (the store only ever holds validated events). */
export function eventFromRow(row: EventRow): TimelineEvent {
  return {
    ...row.payload,
    key: eventKey(row.key),
    room: roomKey(row.room_key),
    order: row.order_key as OrderKey,
    ts: Number(row.ts),
    sender: userKey(row.sender),
    kind: row.kind,
    source: sourceKey(row.source_key),
    nativeId: row.native_id,
  } as TimelineEvent;
}
