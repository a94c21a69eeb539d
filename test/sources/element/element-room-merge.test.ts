import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingest } from '../../../src/ingest/ingest.js';
import { elementExportItems } from '../../../src/sources/element/index.js';
import { matrixArchiveItems } from '../../../src/sources/matrix-archive/index.js';
import { createTestStore, type TestStore } from '../../support/databases.js';
import { event, writeExport } from './element-fixtures.js';

const OLD = '!old:example.org';
const NEW = '!new:example.org';
const ALICE = '@alice:example.org';
const BOB = '@bob:example.org';

const text = (id: string, room: string, sender: string, body: string) =>
  event(id, 'm.room.message', sender, { msgtype: 'm.text', body }, { room_id: room });
const join = (id: string, room: string, mxid: string) =>
  event(id, 'm.room.member', mxid, { membership: 'join' }, { room_id: room, state_key: mxid });

/** The room before its upgrade: it ends with a tombstone pointing at its successor. */
const oldExport = () =>
  writeExport(
    [
      join('$o01', OLD, ALICE),
      join('$o02', OLD, BOB),
      text('$o03', OLD, ALICE, 'first'),
      text('$o05', OLD, BOB, 'third'),
      event(
        '$o07',
        'm.room.tombstone',
        ALICE,
        { body: 'upgraded', replacement_room: NEW },
        { room_id: OLD, state_key: '' },
      ),
    ],
    { room_name: 'Ferry Crew', exported_by: 'Alice' },
  );

/** Its successor, exported by someone else; one message is older than the old room's last. */
const newExport = () =>
  writeExport(
    [
      join('$n04', NEW, ALICE),
      text('$n04b', NEW, ALICE, 'second'),
      join('$n08', NEW, BOB),
      text('$n09', NEW, BOB, 'fourth'),
    ],
    { room_name: 'Ferry Crew', topic: 'After the upgrade', exported_by: 'Bob' },
  );

describe('Element exports of two rooms merged by the config (merge.rooms)', () => {
  let t: TestStore;
  beforeEach(async () => {
    t = await createTestStore('pglite');
  });
  afterEach(async () => {
    await t.dispose();
  });

  const rooms = async () =>
    (await t.store.knex('rooms').orderBy('key').select('key', 'native_id', 'is_archived')) as {
      key: string;
      native_id: string;
      is_archived: boolean;
    }[];
  const events = async (room: string) =>
    (
      (await t.store
        .knex('events')
        .where({ room_key: room })
        .orderBy('order_key')
        .select('native_id')) as { native_id: string }[]
    ).map((r) => r.native_id);

  it('without a mapping, the two exports are two rooms', async () => {
    await ingest(elementExportItems(oldExport()), t.store, { input: 'old' });
    await ingest(elementExportItems(newExport()), t.store, { input: 'new' });
    expect((await rooms()).map((r) => r.key)).toEqual([`matrix:${NEW}`, `matrix:${OLD}`]);
  });

  it('stores one room with the union of both exports’ events in order', async () => {
    const roomAliases = new Map([[OLD, NEW]]);
    const oldPath = oldExport();
    const first = await ingest(elementExportItems(oldPath, { roomAliases }), t.store, {
      input: 'old',
    });
    expect(first.added.rooms).toBe(1);
    const second = await ingest(elementExportItems(newExport(), { roomAliases }), t.store, {
      input: 'new',
    });
    expect(second.added.rooms).toBe(0);

    // One room, under the canonical ID; the old room's tombstone does not archive it.
    expect(await rooms()).toEqual([{ key: `matrix:${NEW}`, native_id: NEW, is_archived: false }]);
    // Two sources (one per exported room) feed it.
    const sources = (await t.store.knex('sources').orderBy('key').select('key')) as {
      key: string;
    }[];
    expect(sources.map((s) => s.key)).toEqual([`element:${NEW}:Bob`, `element:${OLD}:Alice`]);

    const merged = await events(`matrix:${NEW}`);
    expect(merged).toEqual(expect.arrayContaining(['$o03', '$n04b', '$o05', '$n09']));
    // Timestamps interleave the two rooms: order_key order is time order, across both.
    const messages = merged.filter((id) => ['$o03', '$n04b', '$o05', '$n09'].includes(id));
    expect(messages).toEqual(['$o03', '$n04b', '$o05', '$n09']);
    const ts = (
      (await t.store
        .knex('events')
        .where({ room_key: `matrix:${NEW}` })
        .orderBy('order_key')
        .select('ts')) as { ts: string | number }[]
    ).map((r) => Number(r.ts));
    expect(ts).toEqual([...ts].sort((a, b) => a - b));

    // Events keep their own keys: the old export again adds nothing.
    const again = await ingest(elementExportItems(oldPath, { roomAliases }), t.store, {
      input: 'old',
    });
    expect(again.added).toEqual({ users: 0, rooms: 0, events: 0, files: 0 });
  });

  it('merges a matrix-archive dump of another room ID into an Element export’s room', async () => {
    const reef = 'test/fixtures/matrix-archive/Reef Survey_!reef:example.org.json';
    const roomAliases = new Map([['!reef:example.org', NEW]]);
    const element = await ingest(elementExportItems(newExport()), t.store, { input: 'new' });
    const archive = await ingest(
      matrixArchiveItems(reef, { timezone: 'UTC', roomAliases }),
      t.store,
      { input: reef },
    );
    expect(archive.added.rooms).toBe(0);
    expect(archive.added.events).toBeGreaterThan(0);
    expect((await rooms()).map((r) => r.key)).toEqual([`matrix:${NEW}`]);
    expect((await events(`matrix:${NEW}`)).length).toBe(
      element.added.events + archive.added.events,
    );
  });
});
