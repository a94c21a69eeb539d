/** What the store holds, for `ferry status`. */
import type { Knex } from 'knex';
import type { RoomKind } from '../model/index.js';
import { eventKindCounts, ledgerCounts, sumBy, unpushedCounts } from './store-counts.js';
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
  const eventRows = await eventKindCounts(db, 'total');
  const [files] = (await db('media').count({ n: '*' })) as { n: number | string }[];
  const rooms: Record<RoomKind, number> = { space: 0, channel: 0, private: 0, dm: 0, group_dm: 0 };
  for (const r of roomRows) rooms[r.kind] = Number(r.n);
  return {
    store: { backend: store.backend, location: store.location },
    sources,
    users: Number(users?.n ?? 0),
    rooms,
    events: Object.fromEntries(eventRows.map((r) => [r.kind, r.n])),
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
  const ledger = sumBy(await ledgerCounts(db, 'total'), (r) => r.status);
  const [notPushed] = await unpushedCounts(db, 'total');
  return {
    rooms: {
      pending: 0,
      running: 0,
      done: 0,
      failed: 0,
      ...Object.fromEntries(pushRooms.map((r) => [r.status, Number(r.n)])),
    },
    events_sent: ledger.sent ?? 0,
    events_skipped: ledger.skipped ?? 0,
    events_not_pushed: notPushed?.n ?? 0,
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
