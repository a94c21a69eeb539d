/**
 * `push()` in process against the fake homeserver with injected faults: rate limits, server
 * errors, responses lost after the server acted, and a room that refuses every send. The
 * MatrixClient gets a no-op `sleep`, so retries cost no time; every scenario ends with the
 * independent exactly-once check of test/support/exactly-once.ts over the fake's own records.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runIngest } from '../../src/cli/commands/ingest.js';
import { silentLogger } from '../../src/logger.js';
import { IdentityMapper } from '../../src/mapping/identity.js';
import { MatrixClient } from '../../src/matrix/client.js';
import { push, type PushSummary } from '../../src/matrix/push.js';
import { openArchive } from '../../src/archive/archive-reader.js';
import type { RoomId, UserId } from '../../src/matrix/types.js';
import { createTestStore, type TestStore } from '../support/databases.js';
import {
  checkExactlyOnce,
  NO_PROBLEMS,
  problems,
  type ExactlyOnceReport,
} from '../support/exactly-once.js';
import { FakeHomeserver, type FakeMethod } from '../support/fake-homeserver.js';

const MODERN = 'test/fixtures/slack/modern';
const PREFIX = '_ferry_';
const BOT = '_ferry_bot';
const STORE_ROOMS = 7;

let testStore: TestStore;
let fake: FakeHomeserver;
let client: MatrixClient;
let identity: IdentityMapper;
/** Every delay the client asked for (it never really waits). */
let sleeps: number[];
/** Test-side faults the fake cannot make (it only injects 429, 5xx and resets). */
let intercept:
  | ((url: URL, init: RequestInit | undefined, next: () => Promise<Response>) => Promise<Response>)
  | undefined;

const isSend = (m: FakeMethod, p: string) => m === 'PUT' && p.includes('/send/');
const isMemberState = (m: FakeMethod, p: string) =>
  m === 'PUT' && p.includes('/state/m.room.member/');
const isCreateRoom = (m: FakeMethod, p: string) => m === 'POST' && p.endsWith('/createRoom');

beforeEach(async () => {
  testStore = await createTestStore('postgres');
  const ingest = await runIngest('slack', MODERN, testStore.store, {
    skipBadFiles: false,
    progress: false,
    logger: silentLogger,
  });
  expect(ingest.added.rooms).toBe(STORE_ROOMS);
  fake = new FakeHomeserver({ serverName: 'ferry.test', senderLocalpart: BOT });
  await fake.start();
  sleeps = [];
  intercept = undefined;
  const realFetch = globalThis.fetch;
  client = new MatrixClient({
    baseUrl: fake.baseUrl,
    asToken: fake.asToken,
    serverName: fake.serverName,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
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
      const next = () => realFetch(input, init);
      return intercept === undefined ? next() : intercept(url, init, next);
    },
  });
  identity = new IdentityMapper({
    serverName: fake.serverName,
    userPrefix: PREFIX,
    aliasPrefix: PREFIX,
  });
});

afterEach(async () => {
  await fake.stop();
  await testStore.dispose();
});

function runPush(overrides: Partial<Parameters<typeof push>[0]> = {}): Promise<PushSummary> {
  return push({
    db: testStore.store.knex,
    client,
    identity,
    appserviceId: 'ferry-test',
    botLocalpart: BOT,
    logger: silentLogger,
    concurrency: 3,
    appendLate: false,
    readMarkers: true,
    allowDownload: false,
    openArchive,
    maxUploadBytes: 10 * 1024 * 1024,
    // The writer's own waits (resends after ambiguous failures) are recorded like the client's.
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...overrides,
  });
}

async function check(rooms?: string[]): Promise<ExactlyOnceReport> {
  return checkExactlyOnce(testStore.store.knex, (roomId) => fake.eventsIn(roomId as RoomId), rooms);
}

async function expectComplete(summary: PushSummary): Promise<ExactlyOnceReport> {
  expect(summary.failures).toEqual([]);
  expect(summary.rooms).toEqual({ written: STORE_ROOMS, failed: 0 });
  const report = await check();
  expect(problems(report)).toEqual(NO_PROBLEMS);
  expect(report.totals.ferryEvents).toBe(report.totals.sentRows);
  // One Matrix room per store room: nothing was created twice.
  expect(fake.rooms.size).toBe(STORE_ROOMS);
  // A second push finds nothing to do.
  const again = await runPush();
  expect(again.events.sent).toBe(0);
  expect(again.failures).toEqual([]);
  return report;
}

const faultsSeen = (status: number) => fake.requests.filter((r) => r.fault === status).length;

describe('push under injected faults (fake homeserver)', () => {
  it('without faults: every event exactly once, in order (baseline)', async () => {
    const report = await expectComplete(await runPush());
    expect(report.totals.messages).toBeGreaterThan(10);
    expect(sleeps).toEqual([]);
  });

  it('429 with retry_after_ms on sends and on createRoom: waits as told, then completes', async () => {
    fake.failNext(2, { status: 429, retryAfterMs: 1234, match: isCreateRoom });
    fake.failNext(6, { status: 429, retryAfterMs: 4321, match: isSend });
    await expectComplete(await runPush());
    expect(faultsSeen(429)).toBe(8);
    expect(sleeps.filter((ms) => ms === 1234)).toHaveLength(2);
    expect(sleeps.filter((ms) => ms === 4321)).toHaveLength(6);
  });

  it('500, 502 and 503 on sends: retried with backoff, then completes', async () => {
    fake.failNext(2, { status: 500, match: isSend });
    fake.failNext(2, { status: 502, match: isSend });
    fake.failNext(2, { status: 503, match: isSend });
    // One room at a time, so the six failures hit one request in a row.
    await expectComplete(await runPush({ concurrency: 1 }));
    expect([faultsSeen(500), faultsSeen(502), faultsSeen(503)]).toEqual([2, 2, 2]);
    expect(sleeps).toHaveLength(6);
    // Bounded exponential backoff: consecutive failures of one request wait longer each time.
    expect(sleeps[5]!).toBeGreaterThan(sleeps[0]!);
  });

  it('lost responses (applied, then 500) on sends and on membership state: nothing is duplicated', async () => {
    // Spread the losses over the push: every 5th send and every 3rd membership change.
    let sends = 0;
    let members = 0;
    fake.failNext(4, {
      status: 500,
      afterProcessing: true,
      match: (m, p) => isSend(m, p) && ++sends % 5 === 0,
    });
    fake.failNext(4, {
      status: 502,
      afterProcessing: true,
      match: (m, p) => isMemberState(m, p) && ++members % 3 === 0,
    });
    await expectComplete(await runPush());
    const lost = fake.requests.filter((r) => r.fault !== undefined);
    expect(lost.filter((r) => r.path.includes('/send/'))).toHaveLength(4);
    expect(lost.filter((r) => r.path.includes('/state/m.room.member/'))).toHaveLength(4);
  });

  /**
   * Synapse keeps its transaction cache in memory only: when it restarts between storing an
   * event and the retry, a blind resend would store a second copy. The writer checks the
   * room's tail before resending after an ambiguous failure.
   */
  it('a send applied by a homeserver that then restarts (lost response, transaction cache gone): not duplicated', async () => {
    let sends = 0;
    intercept = async (url, init, next) => {
      const response = await next();
      if (
        init?.method === 'PUT' &&
        url.pathname.includes('/send/') &&
        ++sends === 10 &&
        response.ok
      ) {
        // The event is stored, the answer is lost and the restart empties the txn cache.
        fake.clearTxnCache();
        return Response.json({ errcode: 'M_UNKNOWN', error: 'restarting' }, { status: 502 });
      }
      return response;
    };
    await expectComplete(await runPush());
  });

  it('a createRoom whose response is lost: the room is found again by its alias, not created twice', async () => {
    fake.failNext(2, { status: 500, afterProcessing: true, match: isCreateRoom });
    await expectComplete(await runPush());
    expect(fake.requests.filter((r) => isCreateRoom(r.method, r.path))).toHaveLength(STORE_ROOMS);
    expect(faultsSeen(500)).toBe(2);
  });

  it('a room that refuses every send (403): that room fails with a clear error, the others complete', async () => {
    const general = 'slack:C01GENERAL';
    const alias = identity.roomAlias('slack', 'C01GENERAL');
    intercept = (url, init, next) => {
      const roomId = fake.aliases.get(alias);
      if (
        roomId !== undefined &&
        init?.method === 'PUT' &&
        url.pathname.startsWith(`/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/`)
      ) {
        return Promise.resolve(
          Response.json(
            { errcode: 'M_FORBIDDEN', error: 'You are not allowed to send here' },
            { status: 403 },
          ),
        );
      }
      return next();
    };
    const summary = await runPush();
    expect(summary.rooms).toEqual({ written: STORE_ROOMS - 1, failed: 1 });
    expect(summary.failures).toHaveLength(1);
    expect(summary.failures[0]!.room).toBe(general);
    expect(summary.failures[0]!.error).toMatch(/403/);
    expect(summary.failures[0]!.error).toMatch(/M_FORBIDDEN/);
    const row = (await testStore.store
      .knex('matrix_rooms')
      .where({ room_key: general })
      .first()) as { status: string; error: string };
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/M_FORBIDDEN/);
    // 403 is final: no retries of the refused send.
    expect(sleeps).toEqual([]);

    const others = ((await testStore.store.knex('rooms').select('key')) as { key: string }[])
      .map((r) => r.key)
      .filter((k) => k !== general);
    const report = await check(others);
    expect(problems(report)).toEqual(NO_PROBLEMS);
    // The failed room holds what was sent before the refusal, once, and no pending leftovers
    // beyond the one refused event.
    const failedRoom = await check([general]);
    expect(failedRoom.duplicated).toEqual([]);
    expect(failedRoom.missing).toEqual([]);
    expect(
      await testStore.store.knex('matrix_ledger').where({ room_key: general, status: 'pending' }),
    ).toHaveLength(1);
  });
});

/** A loopback server answering every request with a tiny PNG (emoji images, avatars). */
async function imageServer(): Promise<{ port: number; close: () => void }> {
  const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
    res.end(png);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

describe('custom emoji from enrichment', () => {
  it('become an image pack on the workspace space, uploaded from their URLs, and show inline in text', async () => {
    const { port, close } = await imageServer();
    try {
      const db = testStore.store.knex;
      await db('slack_custom_emoji').insert([
        {
          source_key: 'slack:T01TEAM',
          name: 'partyparrot',
          url: `http://127.0.0.1:${port}/parrot.png`,
        },
        {
          source_key: 'slack:T01TEAM',
          name: 'tada',
          alias_of: null,
          url: `http://127.0.0.1:${port}/tada.png`,
        },
        { source_key: 'slack:T01TEAM', name: 'thumbs', alias_of: 'thumbsup', url: null },
      ]);
      // A message that uses them (the fixture has none): an image, an alias and an unknown name.
      const party = 'slack:C01GENERAL:1709251300.000300';
      await db('events')
        .where({ key: party })
        .update({
          payload: db.raw(`jsonb_set(payload, '{content,text}', ?::jsonb)`, [
            JSON.stringify('first :partyparrot: :thumbs: :nobody:'),
          ]),
        });
      await expectComplete(await runPush({ allowDownload: true }));
      const space = fake.aliases.get(identity.roomAlias('slack', 'T01TEAM'))!;
      const pack = fake.stateOf(space, 'im.ponies.room_emotes') as {
        images: Record<string, { url: string }>;
      };
      expect(Object.keys(pack.images)).toEqual(['partyparrot', 'tada']);
      const parrot = pack.images.partyparrot?.url;
      expect(parrot).toMatch(/^mxc:\/\//);

      // Uploaded after the catalog was loaded (spaces first), yet the message shows the image.
      const general = fake.aliases.get(identity.roomAlias('slack', 'C01GENERAL'))!;
      const sent = fake
        .eventsIn(general)
        .filter((e) => (e.content['ferry.source'] as { key?: string } | undefined)?.key === party);
      expect(sent).toHaveLength(1);
      expect(sent[0]?.content).toMatchObject({
        body: 'first :partyparrot: \u{1F44D} :nobody:',
        format: 'org.matrix.custom.html',
        formatted_body: `first <img data-mx-emoticon src="${parrot}" alt=":partyparrot:" title=":partyparrot:" height="32" /> \u{1F44D} :nobody:`,
      });
    } finally {
      close();
    }
  });
});

describe('avatars', () => {
  it('are added by a later push with downloads to ghosts provisioned without them', async () => {
    const { port, close } = await imageServer();
    try {
      const db = testStore.store.knex;
      await db('users')
        .whereIn('native_id', ['U01ALICE', 'U01BOB'])
        .update({ avatar_url: db.raw(`'http://127.0.0.1:${port}/' || native_id || '.png'`) });
      const avatarOf = (nativeId: string) =>
        fake.users.get(identity.ghostUserId('slack', nativeId) as UserId)?.avatarUrl;

      await expectComplete(await runPush());
      expect(avatarOf('U01ALICE')).toBeUndefined();

      await runPush({ allowDownload: true });
      expect(avatarOf('U01ALICE')).toMatch(/^mxc:\/\//);
      expect(avatarOf('U01BOB')).toMatch(/^mxc:\/\//);

      // Done once: a further push with downloads looks at no profile again.
      const before = fake.requests.length;
      await runPush({ allowDownload: true });
      const profileCalls = fake.requests.slice(before).filter((r) => r.path.includes('/profile/'));
      expect(profileCalls).toEqual([]);
    } finally {
      close();
    }
  });
});
