import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingest } from '../../../src/ingest/ingest.js';
import { matrixArchiveItems } from '../../../src/sources/matrix-archive/index.js';
import { createTestStore, storeBackends, type TestStore } from '../../support/databases.js';

const DIR = 'test/fixtures/matrix-archive';
const OPTIONS = { serverName: 'example.org', timezone: 'Europe/Berlin' };

describe.each(storeBackends)('one room from several matrix-archive forms into %s', (backend) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await createTestStore(backend);
  });
  afterEach(async () => {
    await t.dispose();
  });

  const run = (file: string) =>
    ingest(matrixArchiveItems(`${DIR}/${file}`, OPTIONS), t.store, { input: file });
  const eventKeys = async () =>
    ((await t.store.knex('events').select('key').orderBy('order_key')) as { key: string }[]).map(
      (r) => r.key,
    );

  it('merges the export, the raw events and the MongoDB dump with no duplicate event', async () => {
    const exported = await run('export.json');
    expect(exported.added).toMatchObject({ users: 3, rooms: 1, events: 7, files: 1 });

    const raw = await run('Reef Survey_!reef:example.org.json');
    // Shared events are identical (same keys, times and content): only the new ones count.
    expect(raw.added.events).toBe(6);
    expect(raw.updated.events).toBe(0);
    expect(raw.existing.events).toBe(7);
    expect(raw.existing.files).toBe(1);
    // Display names from the raw file replace the localpart placeholders.
    expect(raw.updated.users).toBe(2);

    const mongo = await run('mongo.jsonl');
    expect(mongo.added.events).toBe(0);
    expect(mongo.updated.events).toBe(0);
    expect(mongo.existing.events).toBe(8);
    // …and its placeholders do not overwrite the names.
    expect(mongo.updated.users).toBe(0);

    const keys = await eventKeys();
    expect(keys).toHaveLength(13);
    expect(new Set(keys).size).toBe(13);
    expect(keys.slice(0, 4)).toEqual([
      'matrix:$m-alice',
      'matrix:$name',
      'matrix:$m-bob',
      'matrix:$e1',
    ]);
    const alice = (await t.store
      .knex('users')
      .where({ key: 'matrix:@alice:example.org' })
      .first('display_name')) as { display_name: string };
    expect(alice.display_name).toBe('Alice Liddell');
  });

  it('still dedupes by event ID when the zone is wrong (the times then differ)', async () => {
    await run('Reef Survey_!reef:example.org.json');
    const utc = await ingest(
      matrixArchiveItems(`${DIR}/export.json`, { serverName: 'example.org' }),
      t.store,
      { input: 'export.json' },
    );
    expect(utc.added.events).toBe(0);
    expect(utc.updated.events).toBe(7);
    expect(await eventKeys()).toHaveLength(13);
  });
});
