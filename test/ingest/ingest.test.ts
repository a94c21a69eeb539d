import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/errors.js';
import { ingest } from '../../src/ingest/ingest.js';
import { slackExportItems } from '../../src/sources/slack/index.js';
import type { RoomRecord } from '../../src/model/index.js';
import { createTestStore, storeBackends, type TestStore } from '../support/databases.js';
import { copyFixture, readJson, writeJson } from '../support/fixture-copy.js';

const MODERN = 'test/fixtures/slack/modern';

describe.each(storeBackends)('ingest into %s', (backend) => {
  let t: TestStore;
  beforeEach(async () => {
    t = await createTestStore(backend);
  });
  afterEach(async () => {
    await t.dispose();
  });

  const run = (path: string, skipBadFiles = false) =>
    ingest(slackExportItems(path, { skipBadFiles }), t.store, { input: path, batchSize: 7 });
  const count = async (table: string) =>
    Number((await t.store.knex(table).count({ n: '*' }))[0]?.n);

  it('stores everything the adapter yields and adds nothing the second time', async () => {
    const first = await run(MODERN);
    expect(first.added).toEqual({ users: 8, rooms: 7, events: 37, files: 3 });
    expect(first.existing).toEqual({ users: 0, rooms: 0, events: 0, files: 0 });
    expect(await count('events')).toBe(37);

    const second = await run(MODERN);
    expect(second.added).toEqual({ users: 0, rooms: 0, events: 0, files: 0 });
    expect(second.updated).toEqual({ users: 0, rooms: 0, events: 0, files: 0 });
    expect(second.existing).toEqual(first.added);
    expect(await count('events')).toBe(37);
    const runs = (await t.store.knex('ingest_runs').select('status').orderBy('id')) as {
      status: string;
    }[];
    expect(runs.map((r) => r.status)).toEqual(['done', 'done']);
  });

  it('keeps events sortable by order key with same-millisecond messages apart', async () => {
    await run(MODERN);
    const rows = (await t.store
      .knex('events')
      .where({ room_key: 'slack:C01GENERAL', kind: 'message' })
      .whereBetween('ts', [1709251300000, 1709251300000])
      .orderBy('order_key')
      .select('native_id', 'ts')) as { native_id: string; ts: number }[];
    expect(rows).toEqual([
      { native_id: '1709251300.000300', ts: 1709251300000 },
      { native_id: '1709251300.000301', ts: 1709251300000 },
    ]);
    expect(typeof rows[0]?.ts).toBe('number');
  });

  it('ingests a newer export of the same workspace: only what is new is added, changes are updated', async () => {
    await run(MODERN);
    const newer = copyFixture(MODERN);
    const users = readJson(join(newer, 'users.json')) as object[];
    users.push({
      id: 'U01NEW',
      team_id: 'T01TEAM',
      name: 'newbie',
      profile: { real_name: 'New Person' },
    });
    writeJson(join(newer, 'users.json'), users);
    const channels = readJson(join(newer, 'channels.json')) as object[];
    channels.push({ id: 'C01NEWCHAN', name: 'launch', created: 1709400000, members: ['U01NEW'] });
    writeJson(join(newer, 'channels.json'), channels);
    mkdirSync(join(newer, 'launch'));
    writeJson(join(newer, 'launch', '2024-03-03.json'), [
      { type: 'message', user: 'U01NEW', text: 'first post', ts: '1709400100.000100' },
    ]);
    // Old message: a reaction added later, and its text edited again.
    const dayPath = join(newer, 'general', '2024-03-01.json');
    const day = readJson(dayPath) as Record<string, unknown>[];
    const old = day.find((m) => m.ts === '1709251300.000300')!;
    old.reactions = [{ name: 'eyes', users: ['U01ALICE'], count: 1 }];
    const edited = day.find((m) => m.ts === '1709251400.000400')!;
    edited.text = 'Thread root (edited later)';
    writeJson(dayPath, day);

    const summary = await run(newer);
    expect(summary.added).toEqual({ users: 1, rooms: 1, events: 2, files: 0 });
    expect(summary.updated).toEqual({ users: 0, rooms: 0, events: 1, files: 0 });
    expect(summary.existing.events).toBe(36);
    const reaction = await t.store
      .knex('events')
      .where({ key: 'slack:C01GENERAL:1709251300.000300:reaction:eyes:U01ALICE' })
      .first();
    expect(reaction).toMatchObject({ kind: 'reaction', sender: 'slack:U01ALICE' });
  });

  it('stores the same rows when day files are mapped by worker threads', async () => {
    const eventRows = async () =>
      (await t.store
        .knex('events')
        .select('key', 'room_key', 'order_key', 'ts', 'sender', 'kind', 'thread_root', 'payload')
        .orderBy('key')) as unknown[];
    const inline = await run(MODERN);
    const inlineRows = await eventRows();
    await t.store.knex('events').del();
    const pooled = await ingest(
      slackExportItems(MODERN, { workers: 2, workerMinFiles: 0 }),
      t.store,
      {
        input: MODERN,
        batchSize: 7,
      },
    );
    expect(await eventRows()).toEqual(inlineRows);
    expect(pooled.added.events).toBe(inline.added.events);
    expect(pooled.events).toEqual(inline.events);
    // A re-run meets every key (the staged merge) and adds nothing.
    const again = await ingest(
      slackExportItems(MODERN, { workers: 1, workerMinFiles: 0 }),
      t.store,
      {
        input: MODERN,
        batchSize: 7,
      },
    );
    expect(again.added.events).toBe(0);
    expect(again.existing.events).toBe(inline.added.events);
    expect(await eventRows()).toEqual(inlineRows);
  });

  it('leaves the store as it was when a day file is not valid JSON, naming the entry and the position', async () => {
    const broken = copyFixture(MODERN);
    writeFileSync(
      join(broken, 'general', '2024-03-02.json'),
      '[\n {"type": "message",\n  "ts": oops}\n]',
    );
    const error = await run(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).message).toMatch(
      /general\/2024-03-02\.json is not valid JSON \(line 3, column \d+/,
    );
    expect(await count('events')).toBe(0);
    expect(await count('users')).toBe(0);
    expect(await count('sources')).toBe(0);
    const runs = (await t.store.knex('ingest_runs').select('status')) as { status: string }[];
    expect(runs).toEqual([{ status: 'failed' }]);

    const skipped = await run(broken, true);
    expect(skipped.skipped.bad_file).toBe(1);
    expect(skipped.added.events).toBeGreaterThan(20);
  });

  it('refuses an export without users.json before writing anything', async () => {
    const broken = copyFixture(MODERN);
    writeFileSync(join(broken, 'users.json'), '');
    const { rmSync } = await import('node:fs');
    rmSync(join(broken, 'users.json'));
    await expect(run(broken)).rejects.toThrow(/users\.json is missing/);
    expect(await count('sources')).toBe(0);
  });
});

describe('upserts across sources', () => {
  it('a source that does not know a room name does not erase it, nor does an older one', async () => {
    const t = await createTestStore('postgres');
    try {
      const { upsertRooms, upsertSource } = await import('../../src/store/upsert.js');
      const { roomKey, sourceKey } = await import('../../src/model/index.js');
      const source = sourceKey('test:one');
      await upsertSource(t.store.knex, { key: source, kind: 'element', name: 'one' });
      const base = {
        key: roomKey('matrix:!r:x'),
        source,
        nativeId: '!r:x',
        kind: 'private' as const,
        isArchived: false,
        isGeneral: false,
        members: [],
      };
      const { decideRooms } = await import('../../src/store/room-claims.js');
      // What an ingest does with a room: upsert it, then let the newest claim decide its name.
      const read = (room: RoomRecord, run: number, latestEvent: number) =>
        t.store.knex.transaction(async (trx) => {
          const counts = await upsertRooms(trx, [room], run);
          const changed = await decideRooms(trx, run, [room], latestEvent);
          return {
            ...counts,
            updated: counts.updated + changed,
            existing: counts.existing - changed,
          };
        });
      await read({ ...base, name: 'Reef', topic: 'corals' }, 1, 1000);
      const second = await read({ ...base }, 2, 2000);
      expect(second).toEqual({ added: 0, updated: 0, existing: 1 });
      const third = await read({ ...base, name: 'Reef survey' }, 3, 3000);
      expect(third.updated).toBe(1);
      // An older export read last names nothing.
      const older = await read({ ...base, name: 'Old reef' }, 4, 500);
      expect(older).toEqual({ added: 0, updated: 0, existing: 1 });
      const row = (await t.store.knex('rooms').first()) as { name: string; topic: string };
      expect(row).toMatchObject({ name: 'Reef survey', topic: 'corals' });
    } finally {
      await t.dispose();
    }
  });
});
