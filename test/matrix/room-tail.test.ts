/**
 * Reconciling a crashed push's pending send reads back only as far as needed (room-tail.ts):
 * against the fake homeserver (it counts `/messages` requests), a room holding hundreds of
 * events is pushed, then a crash is simulated by turning its last confirmed ledger row back into
 * a pending one (its event landed, or was removed: it never did) with the transaction cache
 * emptied (a Synapse restart). Each case ends with the exactly-once check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIngest } from '../../src/cli/commands/ingest.js';
import { silentLogger } from '../../src/logger.js';
import { IdentityMapper } from '../../src/mapping/identity.js';
import { MatrixClient } from '../../src/matrix/client.js';
import { push, type PushSummary } from '../../src/matrix/push.js';
import { PushState } from '../../src/matrix/push-state.js';
import type { RoomKey } from '../../src/model/index.js';
import { searchTail, TAIL_PAGE } from '../../src/matrix/room-tail.js';
import { openArchive } from '../../src/archive/archive-reader.js';
import type { RoomId } from '../../src/matrix/types.js';
import { createTestStore, type TestStore } from '../support/databases.js';
import {
  checkExactlyOnce,
  generateTestExport,
  NO_PROBLEMS,
  problems,
} from '../support/exactly-once.js';
import { FakeHomeserver } from '../support/fake-homeserver.js';

const BOT = '_ferry_bot';

let testStore: TestStore;
let fake: FakeHomeserver;
let client: MatrixClient;
let identity: IdentityMapper;
let work: string;
/** The longest room: its store key, Matrix ID and event count after the first push. */
let room: { key: string; id: RoomId; events: number };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ferry-room-tail-'));
  const zip = join(work, 'export.zip');
  await generateTestExport(zip, { messages: 400, conversations: 1, users: 8 });
  testStore = await createTestStore('postgres');
  await runIngest('slack', zip, testStore.store, {
    skipBadFiles: false,
    progress: false,
    logger: silentLogger,
  });
  fake = new FakeHomeserver({ serverName: 'ferry.test', senderLocalpart: BOT });
  await fake.start();
  const realFetch = globalThis.fetch;
  client = new MatrixClient({
    baseUrl: fake.baseUrl,
    asToken: fake.asToken,
    serverName: fake.serverName,
    sleep: () => Promise.resolve(),
    fetch: (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      // The fake has no /capabilities; Synapse answers with its default room version.
      if (url.pathname === '/_matrix/client/v3/capabilities') {
        return Promise.resolve(
          Response.json({
            capabilities: { 'm.room_versions': { default: '10', available: { '10': 'stable' } } },
          }),
        );
      }
      return realFetch(input, init);
    },
  });
  identity = new IdentityMapper({
    serverName: fake.serverName,
    userPrefix: '_ferry_',
    aliasPrefix: '_ferry_',
  });
  const first = await runPush();
  expect(first.failures).toEqual([]);
  const rows = (await testStore.store.knex.raw(`
    select r.room_key as key, r.room_id as id, count(*)::int as n
      from matrix_rooms r join matrix_ledger l using (room_key)
     where l.status = 'sent' group by 1, 2 order by n desc limit 1`)) as {
    rows: { key: string; id: RoomId; n: number }[];
  };
  const top = rows.rows[0]!;
  room = { key: top.key, id: top.id, events: fake.eventsIn(top.id).length };
}, 120_000);

afterAll(async () => {
  await fake?.stop();
  await testStore?.dispose();
  rmSync(work, { recursive: true, force: true });
});

function runPush(): Promise<PushSummary> {
  return push({
    db: testStore.store.knex,
    client,
    identity,
    appserviceId: 'ferry-test',
    botLocalpart: BOT,
    logger: silentLogger,
    concurrency: 2,
    appendLate: false,
    readMarkers: false,
    allowDownload: false,
    openArchive,
    maxUploadBytes: 10 * 1024 * 1024,
    sleep: () => Promise.resolve(),
  });
}

/**
 * Turns the room's last confirmed timeline send back into a pending one, as a kill -9 during
 * that send would leave it: the end-of-room state confirmed after it is forgotten too (a next
 * push replays it, which Synapse and the fake answer with the existing event).
 */
async function crashLastSend(): Promise<{
  row: { event_key: string; part: number; event_id: string };
  forgotten: number;
}> {
  const db = testStore.store.knex;
  const row = (await db('matrix_ledger')
    .where({ room_key: room.key, status: 'sent' })
    .andWhere('order_key', 'not like', '~%')
    .orderBy('updated_at', 'desc')
    .first('event_key', 'part', 'event_id')) as {
    event_key: string;
    part: number;
    event_id: string;
  };
  // Compared in SQL: a JavaScript Date would cut the microseconds off.
  const forgotten = await db('matrix_ledger')
    .where({ room_key: room.key })
    .andWhere(
      'updated_at',
      '>',
      db('matrix_ledger').where({ event_key: row.event_key, part: row.part }).select('updated_at'),
    )
    .delete();
  await db('matrix_ledger')
    .where({ event_key: row.event_key, part: row.part })
    .update({ status: 'pending', event_id: null });
  // Open the room again for the next push, as after a crash.
  await db('matrix_rooms')
    .where({ room_key: room.key })
    .update({ status: 'running', lease_expires_at: db.raw("now() - interval '1 minute'") });
  fake.clearTxnCache();
  return { row, forgotten };
}

/** `/messages` requests into the room since request number `since`. */
const pagesRead = (since: number) =>
  fake.requests
    .slice(since)
    .filter(
      (r) =>
        r.method === 'GET' &&
        r.path.includes(`/messages`) &&
        r.path.includes(encodeURIComponent(room.id)),
    ).length;

async function expectExactlyOnce(): Promise<void> {
  const report = await checkExactlyOnce(testStore.store.knex, (id) => fake.eventsIn(id as RoomId), [
    room.key,
  ]);
  expect(problems(report)).toEqual(NO_PROBLEMS);
  expect(report.totals.ferryEvents).toBe(report.totals.sentRows);
}

describe('reconciling a pending send reads back only as far as needed', () => {
  it('in a long room whose last send landed: found in one page, not resent', async () => {
    expect(room.events).toBeGreaterThan(10 * TAIL_PAGE);
    const { row, forgotten } = await crashLastSend();
    // Where reading back may stop: the send confirmed just before the pending one.
    const timeline = fake.eventsIn(room.id);
    const before = timeline[timeline.findIndex((e) => e.event_id === row.event_id) - 1];
    const state = new PushState(testStore.store.knex);
    expect(await state.anchorBeforePending(room.key as RoomKey)).toBe(before?.event_id);
    const since = fake.requests.length;
    const summary = await runPush();
    expect(summary.failures).toEqual([]);
    // The end-of-room state is replayed (answered with the existing events); nothing is new.
    expect(summary.events).toMatchObject({ reconciled: 1, sent: forgotten });
    expect(fake.eventsIn(room.id)).toHaveLength(room.events);
    expect(pagesRead(since)).toBe(1);
    const after = await testStore.store.knex('matrix_ledger').where(row).first('event_id');
    expect(after).toEqual({ event_id: row.event_id });
    await expectExactlyOnce();
  });

  it('a wanted event that is not there: paging stops at the anchor, or at the room start without one', async () => {
    const events = fake.eventsIn(room.id);
    const anchor = events[events.length - 5]!.event_id;
    const wanted = new Set(['slack:nowhere#0']);
    const bounded = await searchTail(client, room.id, wanted, anchor);
    expect(bounded).toMatchObject({ stop: 'anchor', pages: 1, events: 5 });
    expect(bounded.found.size).toBe(0);
    const whole = await searchTail(client, room.id, wanted, undefined);
    expect(whole).toMatchObject({ stop: 'room_start', events: events.length });
    expect(whole.pages).toBe(Math.ceil(events.length / TAIL_PAGE));
  });

  it('behind more foreign events than a page holds: still found (a fixed window would resend it)', async () => {
    const { forgotten } = await crashLastSend();
    for (let i = 0; i < 3 * TAIL_PAGE; i += 1)
      await client.sendEvent(room.id, 'm.room.message', `foreign-${i}`, {
        msgtype: 'm.text',
        body: `written in the room during the crash ${i}`,
      });
    const since = fake.requests.length;
    const summary = await runPush();
    expect(summary.failures).toEqual([]);
    expect(summary.events).toMatchObject({ reconciled: 1, sent: forgotten });
    expect(fake.eventsIn(room.id)).toHaveLength(room.events + 3 * TAIL_PAGE);
    // 150 foreign events and the landed one: four pages of 50, never the whole room.
    expect(pagesRead(since)).toBe(4);
    await expectExactlyOnce();
  });
});
