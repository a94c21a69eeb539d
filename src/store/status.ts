/** What the store holds, for `ferry status`. */
import type { Knex } from 'knex';
import type { RoomKind } from '../model/index.js';
import type { Store, StoreBackend } from './store.js';

export interface StoreStatus {
  store: { backend: StoreBackend; location: string };
  sources: { key: string; kind: string; name: string }[];
  users: number;
  rooms: Record<RoomKind, number>;
  /** Stored events by model kind. */
  events: Record<string, number>;
  files: number;
  last_run: { id: number; status: string; input: string; started_at: string } | null;
  /** What `ferry push` has done so far. */
  push: {
    rooms: Record<'pending' | 'running' | 'done' | 'failed', number>;
    events_sent: number;
    events_skipped: number;
    /** Store events with no ledger row yet (to send, or late). */
    events_not_pushed: number;
  };
}

export async function storeStatus(store: Store): Promise<StoreStatus> {
  const db = store.knex;
  const sources = (await db('sources')
    .select('key', 'kind', 'name')
    .orderBy('key')) as StoreStatus['sources'];
  const [users] = (await db('users').count<{ n: number }[]>({ n: '*' })) as {
    n: number | string;
  }[];
  const roomRows = (await db('rooms').select('kind').count({ n: '*' }).groupBy('kind')) as {
    kind: RoomKind;
    n: number | string;
  }[];
  const eventRows = (await db('events')
    .select('kind')
    .count({ n: '*' })
    .groupBy('kind')
    .orderBy('kind')) as { kind: string; n: number | string }[];
  const [files] = (await db('media').count({ n: '*' })) as { n: number | string }[];
  const rooms: Record<RoomKind, number> = { space: 0, channel: 0, private: 0, dm: 0, group_dm: 0 };
  for (const r of roomRows) rooms[r.kind] = Number(r.n);
  return {
    store: { backend: store.backend, location: store.location },
    sources,
    users: Number(users?.n ?? 0),
    rooms,
    events: Object.fromEntries(eventRows.map((r) => [r.kind, Number(r.n)])),
    files: Number(files?.n ?? 0),
    push: await pushStatus(db),
    last_run: await lastRun(db),
  };
}

async function pushStatus(db: Knex): Promise<StoreStatus['push']> {
  const pushRooms = (await db('matrix_rooms')
    .select('status')
    .count({ n: '*' })
    .groupBy('status')) as {
    status: 'pending' | 'running' | 'done' | 'failed';
    n: number | string;
  }[];
  const ledger = (await db('matrix_ledger')
    .where('part', 0)
    .select('status')
    .count({ n: '*' })
    .groupBy('status')) as {
    status: string;
    n: number | string;
  }[];
  const [notPushed] = (
    (await db.raw(
      `select count(*) as n from events e
        where not exists (select 1 from matrix_ledger l where l.event_key = e.key and l.part = 0)`,
    )) as { rows: { n: number | string }[] }
  ).rows;
  return {
    rooms: {
      pending: 0,
      running: 0,
      done: 0,
      failed: 0,
      ...Object.fromEntries(pushRooms.map((r) => [r.status, Number(r.n)])),
    },
    events_sent: Number(ledger.find((r) => r.status === 'sent')?.n ?? 0),
    events_skipped: Number(ledger.find((r) => r.status === 'skipped')?.n ?? 0),
    events_not_pushed: Number(notPushed?.n ?? 0),
  };
}

async function lastRun(db: Knex): Promise<StoreStatus['last_run']> {
  const run = (await db('ingest_runs').orderBy('id', 'desc').first()) as
    { id: number; status: string; input: string; started_at: Date | string } | undefined;
  if (run === undefined) return null;
  return {
    id: Number(run.id),
    status: run.status,
    input: run.input,
    started_at: new Date(run.started_at).toISOString(),
  };
}
