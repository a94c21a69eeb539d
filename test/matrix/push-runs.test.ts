/**
 * The push rate recorded per finished push and `ferry plan`'s ETA from it (real PostgreSQL;
 * the end-to-end path — a real push recording its run, plan reading it — is in
 * identity-mapping.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatDuration,
  measuredPushRate,
  pushEta,
  recordPushRun,
  RATE_RUNS,
  type PushRunRecord,
} from '../../src/matrix/push-runs.js';
import { renderPlan } from '../../src/cli/report.js';
import type { PushPlan } from '../../src/matrix/plan.js';
import { createTestStore, type TestStore } from '../support/databases.js';

const run = (seconds: number, storeEvents: number, concurrency = 4): PushRunRecord => ({
  owner: 'test:1',
  concurrency,
  startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 0)),
  finishedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)),
  storeEvents,
  matrixEvents: storeEvents * 2,
  roomsWritten: 1,
  roomsFailed: 0,
});

describe('push rate and ETA', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore('postgres');
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('is unknown, with the reason, until a finished push wrote something', async () => {
    const db = t.store.knex;
    expect(await measuredPushRate(db)).toEqual({
      status: 'unknown',
      reason: 'no push has finished yet',
    });
    await recordPushRun(db, run(3, 0));
    const rate = await measuredPushRate(db);
    expect(rate).toEqual({
      status: 'unknown',
      reason: 'none of the 1 finished pushes wrote any event',
    });
    expect(pushEta(120, rate)).toEqual({
      status: 'unknown',
      pending_events: 120,
      reason: 'none of the 1 finished pushes wrote any event',
    });
  });

  it('divides the pending events by the rate of the latest runs that wrote events', async () => {
    const db = t.store.knex;
    await recordPushRun(db, run(10, 100, 1));
    await recordPushRun(db, run(10, 300, 8));
    const rate = await measuredPushRate(db);
    // (100 + 300) events in 20 s; the zero-event run does not count.
    expect(rate).toMatchObject({
      status: 'measured',
      eventsPerSecond: 20,
      matrixEventsPerSecond: 40,
      runs: 2,
      concurrency: 8,
    });
    expect(pushEta(1000, rate)).toEqual({
      status: 'estimated',
      pending_events: 1000,
      seconds: 50,
      events_per_second: 20,
      based_on_runs: 2,
      concurrency: 8,
    });
    expect(pushEta(0, rate)).toEqual({ status: 'done', pending_events: 0 });
  });

  it(`uses only the latest ${RATE_RUNS} runs`, async () => {
    const db = t.store.knex;
    for (let i = 0; i < RATE_RUNS; i++) await recordPushRun(db, run(1, 7));
    expect(await measuredPushRate(db)).toMatchObject({ eventsPerSecond: 7, runs: RATE_RUNS });
  });

  it('plan prints the ETA, or unknown with its reason', () => {
    const plan: PushPlan = {
      users: {
        total: 0,
        by_origin: { ghost: 0, explicit: 0, email: 0, local: 0 },
        to_create: 0,
        list: [],
      },
      rooms: { total: 0, to_create: 0, list: [] },
      events: { to_send: 90_000, already_sent: 0 },
      eta: {
        status: 'estimated',
        pending_events: 90_000,
        seconds: 9000,
        events_per_second: 10,
        based_on_runs: 1,
        concurrency: 4,
      },
    };
    expect(renderPlan(plan)).toContain(
      'ETA: 2 h 30 min for 90000 events at 10 events/s (measured over the last 1 finished push, concurrency 4)',
    );
    plan.eta = { status: 'unknown', pending_events: 5, reason: 'no push has finished yet' };
    expect(renderPlan(plan)).toContain('ETA: unknown (no push has finished yet); 5 events pending');
    expect([formatDuration(40), formatDuration(432), formatDuration(273_600)]).toEqual([
      '40 s',
      '7 min 12 s',
      '3 d 4 h',
    ]);
  });
});
