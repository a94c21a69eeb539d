import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIngest } from '../../../src/cli/commands/ingest.js';
import { ingest } from '../../../src/ingest/ingest.js';
import { silentLogger } from '../../../src/logger.js';
import { elementExportItems } from '../../../src/sources/element/index.js';
import { collect } from '../../support/collect.js';
import { createTestStore, type TestStore } from '../../support/databases.js';
import { FIRST, SECOND, firstAsZip } from './element-fixtures.js';

const count = async (t: TestStore, table: string): Promise<number> => {
  const [row] = (await t.store.knex(table).count({ n: '*' })) as { n: string | number }[];
  return Number(row?.n);
};

describe('Merging two overlapping Element exports of one room', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore('pglite');
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('stores one room with the union of both exports’ events, once each, in Matrix order', async () => {
    const first = await collect(elementExportItems(FIRST));
    const second = await collect(elementExportItems(SECOND));
    const firstKeys = new Set(first.events.map((e) => e.key));
    const shared = second.events.filter((e) => firstKeys.has(e.key));
    const newer = second.events.filter((e) => !firstKeys.has(e.key));
    // The fixtures overlap (the premise of this test).
    expect(shared.length).toBe(7);
    expect(newer.map((e) => e.nativeId)).toEqual([
      '$newer1',
      '$newer2',
      '$frank-join',
      '$frank-msg',
      '$topic2',
    ]);

    const s1 = await ingest(elementExportItems(FIRST), t.store, { input: FIRST });
    expect(s1.added.events).toBe(first.events.length);
    expect(s1.added.rooms).toBe(1);

    // The same export again adds and changes nothing.
    const again = await ingest(elementExportItems(FIRST), t.store, { input: FIRST });
    expect(again.added).toEqual({ users: 0, rooms: 0, events: 0, files: 0 });
    expect(again.updated).toEqual({ users: 0, rooms: 0, events: 0, files: 0 });

    // The second export, made by someone else, adds only the newer events.
    const s2 = await ingest(elementExportItems(SECOND), t.store, { input: SECOND });
    expect(s2.added.events).toBe(newer.length);
    expect(s2.existing.events).toBe(shared.length);
    expect(s2.updated.events).toBe(0);
    expect(s2.added.users).toBe(1); // Frank

    expect(await count(t, 'rooms')).toBe(1);
    expect(await count(t, 'sources')).toBe(2);
    expect(await count(t, 'events')).toBe(first.events.length + newer.length);
    const keys = (await t.store.knex('events').select('key')) as { key: string }[];
    expect(new Set(keys.map((k) => k.key)).size).toBe(keys.length);

    // Order: origin_server_ts, then event ID.
    const rows = (await t.store
      .knex('events')
      .where({ room_key: 'matrix:!ferry:example.org' })
      .orderBy('order_key')
      .select('native_id', 'ts')) as { native_id: string; ts: string | number }[];
    const union = [...first.events, ...newer];
    const expected = [...union]
      .sort((a, b) => a.ts - b.ts || (a.nativeId < b.nativeId ? -1 : 1))
      .map((e) => e.nativeId);
    expect(rows.map((r) => r.native_id)).toEqual(expected);
    expect(rows.map((r) => Number(r.ts))).toEqual(
      [...rows.map((r) => Number(r.ts))].sort((a, b) => a - b),
    );

    const room = (await t.store.knex('rooms').first()) as { name: string; topic: string };
    expect(room).toMatchObject({ name: 'Ferry Crew', topic: 'Boats, bytes and buoys' });

    // And the first export once more: still nothing new.
    const third = await ingest(elementExportItems(FIRST), t.store, { input: FIRST });
    expect(third.added).toEqual({ users: 0, rooms: 0, events: 0, files: 0 });
    expect(await count(t, 'events')).toBe(first.events.length + newer.length);
  });

  it('ingests the zip form of an export already ingested as JSON without new events', async () => {
    const zip = await firstAsZip({ rootFolder: true });
    const s = await ingest(elementExportItems(zip), t.store, { input: zip });
    expect(s.added.events).toBe(0);
    expect(s.updated.events).toBe(0);
    // The files now have bodies in the zip.
    const withBody = (await t.store.knex('media').whereNotNull('local_path').select('key')) as {
      key: string;
    }[];
    expect(withBody.map((m) => m.key).sort()).toEqual([
      'mxc://example.org/AbCdEf',
      'mxc://example.org/NoTeS',
      'mxc://example.org/StIcK',
      'mxc://example.org/VoIcE',
      'mxc://example.org/XyZ',
    ]);
  });

  it('is what `ferry ingest element` runs', async () => {
    const s = await runIngest('element', SECOND, t.store, {
      progress: false,
      logger: silentLogger,
    });
    expect(s.source).toMatchObject({ key: 'element:!ferry:example.org:Alice', kind: 'element' });
    expect(s.added.events).toBe(0);
    expect(s.skipped).toMatchObject({ unsupported_event: 3, missing_content: 1 });
  });
});
