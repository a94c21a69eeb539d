/**
 * The measured speed of push, for `ferry plan`'s ETA.
 *
 * Every `ferry push` process that finishes records one row in `matrix_push_runs` (migration
 * 0010): its duration, the store events that became written during it and its Matrix sends. A
 * crashed or killed push records nothing. `ferry plan` divides the store events still to write
 * by the rate of the latest runs that wrote anything.
 *
 * The rate is one process's: several `ferry push` processes at once on one store each record
 * their own row, and the ETA assumes the next push runs like the measured ones (same
 * homeserver, same concurrency, similar events). It is an estimate, not a promise.
 */
import type { Knex } from 'knex';

export interface PushRunRecord {
  owner: string;
  concurrency: number;
  startedAt: Date;
  finishedAt: Date;
  /** Store events written (sent or skipped) during the run. */
  storeEvents: number;
  /** Matrix sends (joins and multi-part events count each send). */
  matrixEvents: number;
  roomsWritten: number;
  roomsFailed: number;
}

/** Runs the rate is computed from: the latest ones that wrote at least one event. */
export const RATE_RUNS = 5;

export async function recordPushRun(db: Knex, run: PushRunRecord): Promise<void> {
  await db('matrix_push_runs').insert({
    owner: run.owner,
    concurrency: run.concurrency,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    duration_ms: Math.max(0, run.finishedAt.getTime() - run.startedAt.getTime()),
    store_events: run.storeEvents,
    matrix_events: run.matrixEvents,
    rooms_written: run.roomsWritten,
    rooms_failed: run.roomsFailed,
  });
}

/** The measured rate, or why there is none. */
export type PushRate =
  | {
      status: 'measured';
      /** Store events per second over the runs below (sum of events / sum of durations). */
      eventsPerSecond: number;
      /** Matrix sends per second over the same runs. */
      matrixEventsPerSecond: number;
      runs: number;
      /** Concurrency of the latest of these runs. */
      concurrency: number;
      lastFinishedAt: string;
    }
  | { status: 'unknown'; reason: string };

interface RunRow {
  concurrency: number;
  duration_ms: number | string;
  store_events: number | string;
  matrix_events: number | string;
  finished_at: Date | string;
}

export async function measuredPushRate(db: Knex): Promise<PushRate> {
  const total = Number(
    ((await db('matrix_push_runs').count({ n: '*' })) as { n: number | string }[])[0]?.n ?? 0,
  );
  if (total === 0) return { status: 'unknown', reason: 'no push has finished yet' };
  const rows = (await db('matrix_push_runs')
    .where('store_events', '>', 0)
    .andWhere('duration_ms', '>', 0)
    .orderBy('id', 'desc')
    .limit(RATE_RUNS)
    .select(
      'concurrency',
      'duration_ms',
      'store_events',
      'matrix_events',
      'finished_at',
    )) as RunRow[];
  const latest = rows[0];
  if (latest === undefined)
    return { status: 'unknown', reason: `none of the ${total} finished pushes wrote any event` };
  const seconds = rows.reduce((n, r) => n + Number(r.duration_ms), 0) / 1000;
  return {
    status: 'measured',
    eventsPerSecond: rows.reduce((n, r) => n + Number(r.store_events), 0) / seconds,
    matrixEventsPerSecond: rows.reduce((n, r) => n + Number(r.matrix_events), 0) / seconds,
    runs: rows.length,
    concurrency: latest.concurrency,
    lastFinishedAt: new Date(latest.finished_at).toISOString(),
  };
}

/** `ferry plan`'s ETA (JSON keys in the plan's snake_case). */
export type PushEta =
  | { status: 'done'; pending_events: 0 }
  | {
      status: 'estimated';
      pending_events: number;
      seconds: number;
      events_per_second: number;
      /** How many finished runs the rate comes from, and the latest one's concurrency. */
      based_on_runs: number;
      concurrency: number;
    }
  | { status: 'unknown'; pending_events: number; reason: string };

export function pushEta(pendingEvents: number, rate: PushRate): PushEta {
  if (pendingEvents === 0) return { status: 'done', pending_events: 0 };
  switch (rate.status) {
    case 'unknown':
      return { status: 'unknown', pending_events: pendingEvents, reason: rate.reason };
    case 'measured':
      return {
        status: 'estimated',
        pending_events: pendingEvents,
        seconds: Math.ceil(pendingEvents / rate.eventsPerSecond),
        events_per_second: Math.round(rate.eventsPerSecond * 100) / 100,
        based_on_runs: rate.runs,
        concurrency: rate.concurrency,
      };
  }
}

/** `3 d 4 h`, `2 h 05 min`, `7 min 12 s`, `40 s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${pad(m)} min`;
  if (m > 0) return `${m} min ${pad(s % 60)} s`;
  return `${s} s`;
}
