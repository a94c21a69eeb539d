import type { Knex } from 'knex';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MatrixClient } from '../../src/matrix/client.js';
import { PROVENANCE_KEY } from '../../src/matrix/event-content.js';
import type { EventId, JsonObject, RoomId, UserId } from '../../src/matrix/types.js';
import { verifyRooms, type RoomVerification } from '../../src/matrix/verify.js';
import { createTestStore, type TestStore } from '../support/databases.js';
import { FakeHomeserver } from '../support/fake-homeserver.js';

let testStore: TestStore;
let db: Knex;
let fake: FakeHomeserver;
let client: MatrixClient;
let alice: UserId;
let bob: UserId;
let carol: UserId;
let txn = 0;

beforeAll(async () => {
  testStore = await createTestStore('postgres');
  db = testStore.store.knex;
});

afterAll(async () => {
  await testStore.dispose();
});

beforeEach(async () => {
  await db('matrix_ledger').del();
  await db('matrix_rooms').del();
  await db('events').del();
  fake = new FakeHomeserver();
  await fake.start();
  client = new MatrixClient({
    baseUrl: fake.baseUrl,
    asToken: fake.asToken,
    serverName: fake.serverName,
    sleep: () => Promise.resolve(),
  });
  alice = fake.addUser('alice');
  bob = fake.addUser('bob');
  carol = fake.addUser('carol');
});

afterEach(async () => {
  await fake.stop();
});

interface Room {
  key: string;
  id: RoomId;
}

/** A public room created by the bot, with its `matrix_rooms` row; alice and bob joined "now". */
async function makeRoom(key: string): Promise<Room> {
  const id = await client.createRoom({ preset: 'public_chat', name: key });
  await db('matrix_rooms').insert({
    room_key: key,
    alias: `#${key}:${fake.serverName}`,
    room_id: id,
  });
  await client.joinRoom(id, alice);
  await client.joinRoom(id, bob);
  return { key, id };
}

interface SendSpec {
  key: string;
  part?: number;
  order: string;
  sender?: UserId;
  ts: number;
  /** Overrides of the ledger row (what the writer believed it sent). */
  ledger?: { sender?: string; ts?: number; event_id?: string; order_key?: string };
  /** Also store the model event (part 0 only); default true for non-synthetic keys. */
  store?: boolean;
  /** Extra content fields; `state` sends a state event instead of a message. */
  state?: { type: string; stateKey: string; content: JsonObject };
}

/** Sends one ferry event as the writer would, then records its ledger row and store event. */
async function send(room: Room, s: SendSpec): Promise<EventId> {
  const sender = s.sender ?? alice;
  const eventId = await sendOnly(room, s);
  const part = s.part ?? 0;
  await db('matrix_ledger').insert(ledgerRow(room, s, eventId));
  const synthetic = s.key.includes(':');
  if (part === 0 && (s.store ?? !synthetic))
    await db('events').insert(eventRow(room, s.key, s.order, sender, s.ts));
  return eventId;
}

/** Only the Matrix side: the event as it appears in the room. */
async function sendOnly(room: Room, s: SendSpec): Promise<EventId> {
  const sender = s.sender ?? alice;
  const provenance = { [PROVENANCE_KEY]: { key: s.key, part: s.part ?? 0 } };
  if (s.state !== undefined) {
    return client.sendState(
      room.id,
      s.state.type,
      s.state.stateKey,
      { ...s.state.content, ...provenance },
      { userId: sender, ts: s.ts },
    );
  }
  txn += 1;
  return client.sendEvent(
    room.id,
    'm.room.message',
    `t${txn}`,
    { msgtype: 'm.text', body: s.key, ...provenance },
    { userId: sender, ts: s.ts },
  );
}

function ledgerRow(room: Room, s: SendSpec, eventId: string): Record<string, unknown> {
  const part = s.part ?? 0;
  return {
    event_key: s.key,
    part,
    room_key: room.key,
    order_key: s.ledger?.order_key ?? s.order,
    txn_id: `${s.key}#${part}`,
    status: 'sent',
    event_id: s.ledger?.event_id ?? eventId,
    sender: s.ledger?.sender ?? s.sender ?? alice,
    ts: s.ledger?.ts ?? s.ts,
  };
}

function eventRow(
  room: Room,
  key: string,
  order: string,
  sender: string,
  ts: number,
  kind = 'message',
): Record<string, unknown> {
  return {
    key,
    room_key: room.key,
    order_key: order,
    ts,
    sender,
    kind,
    source_key: 'src',
    native_id: key,
    payload: JSON.stringify({}),
    first_run: 1,
    last_changed_run: 1,
  };
}

const verify = (extra: Partial<Parameters<typeof verifyRooms>[0]> = {}) =>
  verifyRooms({ db, client, botUserId: fake.botUserId, ...extra });

function only(by: RoomVerification[], key: string): RoomVerification {
  const v = by.find((r) => r.room === key);
  if (v === undefined) throw new Error(`no verification for ${key}`);
  return v;
}

const T = 1_600_000_000_000;

/** Three messages from alice, bob and alice in order. */
async function cleanRoom(key: string): Promise<{ room: Room; ids: EventId[] }> {
  const room = await makeRoom(key);
  const ids = [
    await send(room, { key: `${key}-e1`, order: '0001', ts: T + 1 }),
    await send(room, { key: `${key}-e2`, order: '0002', ts: T + 2, sender: bob }),
    await send(room, { key: `${key}-e3`, order: '0003', ts: T + 3 }),
  ];
  return { room, ids };
}

describe('verifyRooms', () => {
  it('reports a clean room as ok, with synthetic members, split parts, end-of-room state and foreign events', async () => {
    const room = await makeRoom('r');
    await send(room, { key: 'e1', order: '0001', ts: T + 1 });
    // Carol's synthetic join before her first message: same order key as the trigger.
    await send(room, {
      key: 'member:r:carol:e2',
      order: '0002',
      ts: T + 2,
      sender: carol,
      state: { type: 'm.room.member', stateKey: carol, content: { membership: 'join' } },
    });
    await send(room, { key: 'e2', order: '0002', ts: T + 2, sender: carol });
    await send(room, { key: 'e3', order: '0003', ts: T + 3 });
    await send(room, { key: 'e3', part: 1, order: '0003', ts: T + 3 });
    // End-of-room state is sent "now": its ledger ts is not checked.
    await send(room, {
      key: 'pins:r:1:x',
      order: '~pins',
      ts: T + 999,
      sender: fake.botUserId,
      ledger: { ts: 5 },
      state: { type: 'm.room.pinned_events', stateKey: '', content: { pinned: [] } },
    });
    // Not ferry's: one by a user (foreign), one by the bot (not counted).
    await client.sendEvent(
      room.id,
      'm.room.message',
      'foreign',
      { msgtype: 'm.text', body: 'hi' },
      { userId: bob },
    );
    await client.sendState(room.id, 'm.room.topic', '', { topic: 'bot' });
    // A profile change re-sends carol's join, provenance included: not a duplicate.
    await client.setDisplayName(carol, 'Carol C');

    const progress: [number, number][] = [];
    const summary = await verify({ onProgress: (d, t) => progress.push([d, t]), all: true });

    expect(summary).toMatchObject({
      rooms: 1,
      events_expected: 6,
      events_found: 6,
      missing: 0,
      duplicated: 0,
      out_of_order: 0,
      wrong_sender: 0,
      wrong_ts: 0,
      not_pushed: 0,
      ok: true,
    });
    expect(only(summary.by_room, 'r')).toMatchObject({
      room_id: room.id,
      foreign: 3, // alice's and bob's plain joins in makeRoom, bob's message
      examples: [],
    });
    expect(progress).toEqual([[1, 1]]);
    // Without `all`, a clean room is not listed.
    expect((await verify()).by_room).toEqual([]);
  });

  it('counts an event deleted from the room as missing', async () => {
    const { room, ids } = await cleanRoom('r');
    const events = fake.rooms.get(room.id)!.events;
    events.splice(
      events.findIndex((e) => e.event_id === ids[1]),
      1,
    );
    const summary = await verify();
    expect(summary).toMatchObject({ ok: false, missing: 1, events_expected: 3, events_found: 2 });
    expect(only(summary.by_room, 'r').examples.join('\n')).toContain('missing: r-e2#0');
  });

  it('counts a ledger row whose provenance was never sent as missing', async () => {
    const { room } = await cleanRoom('r');
    await db('matrix_ledger').insert({
      event_key: 'r-e4',
      part: 1,
      room_key: room.key,
      order_key: '0004',
      txn_id: 'r-e4#1',
      status: 'sent',
      event_id: '$never',
      sender: alice,
      ts: T + 4,
    });
    const summary = await verify();
    expect(summary).toMatchObject({ ok: false, missing: 1, events_expected: 4 });
  });

  it('ignores pending and skipped ledger rows', async () => {
    const { room } = await cleanRoom('r');
    for (const [key, status] of [
      ['r-p', 'pending'],
      ['r-s', 'skipped'],
    ] as const) {
      await db('matrix_ledger').insert({
        event_key: key,
        part: 0,
        room_key: room.key,
        order_key: '0009',
        txn_id: key,
        status,
      });
      await db('events').insert(eventRow(room, key, key === 'r-p' ? '0009a' : '0009b', alice, T));
    }
    expect(await verify()).toMatchObject({
      ok: true,
      events_expected: 3,
      missing: 0,
      not_pushed: 0,
    });
  });

  it('counts the same provenance sent twice as duplicated', async () => {
    const { room, ids } = await cleanRoom('r');
    const again = await sendOnly(room, { key: 'r-e2', order: '0002', ts: T + 2, sender: bob });
    const summary = await verify();
    expect(summary).toMatchObject({
      ok: false,
      duplicated: 1,
      missing: 0,
      out_of_order: 0,
      wrong_sender: 0,
    });
    const examples = only(summary.by_room, 'r').examples.join('\n');
    expect(examples).toContain(ids[1]);
    expect(examples).toContain(again);
  });

  it('notes a provenance found once under another event ID than the ledger, without counting it', async () => {
    const { room } = await cleanRoom('r');
    await send(room, { key: 'r-e4', order: '0004', ts: T + 4, ledger: { event_id: '$other' } });
    const summary = await verify();
    expect(summary).toMatchObject({ ok: true, missing: 0, duplicated: 0 });
    expect(only(summary.by_room, 'r').examples.join('\n')).toContain('resent: r-e4#0');
  });

  it('counts events sent in the wrong order as out of order', async () => {
    const room = await makeRoom('r');
    await send(room, { key: 'e1', order: '0001', ts: T + 1 });
    await send(room, { key: 'e3', order: '0003', ts: T + 3 });
    await send(room, { key: 'e2', order: '0002', ts: T + 2 });
    await send(room, { key: 'e4', order: '0004', ts: T + 4 });
    const summary = await verify();
    expect(summary).toMatchObject({ ok: false, out_of_order: 1, missing: 0 });
    expect(only(summary.by_room, 'r').examples.join('\n')).toContain('out of order: e2#0');
  });

  it('leaves reactions appended late, and the joins they trigger, out of the order check', async () => {
    const room = await makeRoom('r');
    await send(room, { key: 'e1', order: '0001', ts: T + 1 });
    await send(room, { key: 'e3', order: '0003', ts: T + 3 });
    // A late reaction by carol, who was not a member yet: her synthetic join comes first.
    await send(room, {
      key: 'member:r:carol:e2',
      order: '0002',
      ts: T + 2,
      sender: carol,
      state: { type: 'm.room.member', stateKey: carol, content: { membership: 'join' } },
    });
    await send(room, { key: 'e2', order: '0002', ts: T + 2, sender: carol, store: false });
    await db('events').insert(eventRow(room, 'e2', '0002', carol, T + 2, 'reaction'));
    expect(await verify()).toMatchObject({ ok: true, out_of_order: 0, events_found: 4 });
    // The same position for a message is a problem.
    await db('events').where({ key: 'e2' }).update({ kind: 'message' });
    expect(await verify()).toMatchObject({ ok: false, out_of_order: 1 });
  });

  it('counts an event sent as another user as wrong_sender', async () => {
    const room = await makeRoom('r');
    await send(room, { key: 'e1', order: '0001', ts: T + 1 });
    await send(room, {
      key: 'e2',
      order: '0002',
      ts: T + 2,
      sender: bob,
      ledger: { sender: alice },
    });
    const summary = await verify();
    expect(summary).toMatchObject({ ok: false, wrong_sender: 1, wrong_ts: 0, missing: 0 });
    expect(only(summary.by_room, 'r').examples.join('\n')).toContain(
      `sent as ${bob}, expected ${alice}`,
    );
  });

  it('counts an event with another origin_server_ts as wrong_ts', async () => {
    const room = await makeRoom('r');
    await send(room, { key: 'e1', order: '0001', ts: T + 1 });
    await send(room, { key: 'e2', order: '0002', ts: T + 2000, ledger: { ts: T + 2 } });
    const summary = await verify();
    expect(summary).toMatchObject({ ok: false, wrong_ts: 1, wrong_sender: 0, missing: 0 });
  });

  it('counts a store event without any ledger row as not_pushed, but not pins', async () => {
    const { room } = await cleanRoom('r');
    await db('events').insert(eventRow(room, 'r-late', '0002a', alice, T));
    await db('events').insert(eventRow(room, 'r-pin', '0002b', alice, T, 'pin'));
    // Only part 1 recorded: part 0 decides.
    await db('events').insert(eventRow(room, 'r-half', '0002c', alice, T));
    await db('matrix_ledger').insert({
      event_key: 'r-half',
      part: 1,
      room_key: room.key,
      order_key: '0002c',
      txn_id: 'r-half#1',
      status: 'skipped',
    });
    const summary = await verify();
    expect(summary).toMatchObject({ ok: false, not_pushed: 2, missing: 0 });
    expect(only(summary.by_room, 'r').examples.join('\n')).toContain('r-late, r-half');
  });

  it('reads rooms of more than 1000 events page by page', async () => {
    const room = await makeRoom('big');
    const ledger: Record<string, unknown>[] = [];
    const events: Record<string, unknown>[] = [];
    for (let i = 0; i < 1100; i++) {
      const s: SendSpec = { key: `b${i}`, order: String(i).padStart(5, '0'), ts: T + i };
      ledger.push(ledgerRow(room, s, await sendOnly(room, s)));
      events.push(eventRow(room, s.key, s.order, alice, s.ts));
    }
    await db.batchInsert('matrix_ledger', ledger, 500);
    await db.batchInsert('events', events, 500);
    const before = fake.requests.length;

    const summary = await verify();
    expect(summary).toMatchObject({
      ok: true,
      events_expected: 1100,
      events_found: 1100,
      missing: 0,
    });
    const pages = fake.requests.slice(before).filter((r) => r.path.endsWith('/messages'));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(
      pages.every(
        (p) =>
          p.query.dir === 'f' && p.query.limit === '1000' && p.query.user_id === fake.botUserId,
      ),
    ).toBe(true);
  });

  it('verifies only the requested rooms, skips rooms never created, and lists every room with `all`', async () => {
    await cleanRoom('a');
    const { room: b, ids } = await cleanRoom('b');
    await db('matrix_rooms').insert({ room_key: 'c', alias: '#c:x' });
    const events = fake.rooms.get(b.id)!.events;
    events.splice(
      events.findIndex((e) => e.event_id === ids[0]),
      1,
    );

    const both = await verify({ all: true });
    expect(both.rooms).toBe(2);
    expect(both.by_room.map((r) => [r.room, r.missing])).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
    const problems = await verify();
    expect(problems.by_room.map((r) => r.room)).toEqual(['b']);
    const onlyA = await verify({ rooms: ['a', 'c'] });
    expect(onlyA).toMatchObject({ rooms: 1, ok: true, events_expected: 3 });
  });

  it('counts every expected event of a room the bot cannot read as missing', async () => {
    const { room } = await cleanRoom('r');
    await client.sendState(room.id, 'm.room.member', fake.botUserId, { membership: 'leave' });
    const summary = await verify();
    expect(summary).toMatchObject({ ok: false, missing: 3, events_found: 0 });
    expect(only(summary.by_room, 'r').examples[0]).toMatch(/^cannot read .*403/);
  });
});
