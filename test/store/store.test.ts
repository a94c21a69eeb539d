import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/errors.js';
import { openStore, type Store } from '../../src/store/store.js';
import { LATEST_MIGRATION } from '../../src/store/migrate.js';
import {
  createPgliteCluster,
  isPgliteCluster,
  PGLITE_SETTINGS,
  pgliteStartParams,
} from '../../src/store/pglite-store.js';
import { createPostgresDatabase } from '../support/databases.js';
import { recordingLogger, type LogEntry } from '../support/recording-logger.js';

describe('opening the store', () => {
  it('several processes may open a fresh PostgreSQL store at once: it is migrated exactly once', async () => {
    const db = await createPostgresDatabase();
    try {
      const stores = await Promise.all([1, 2, 3].map(() => openStore({ databaseUrl: db.url })));
      const rows = (await stores[0]!.knex('ferry_migrations').select('name').orderBy('name')) as {
        name: string;
      }[];
      expect(rows.map((r) => r.name).at(-1)).toBe(LATEST_MIGRATION);
      expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
      // int8 comes back as a number on both backends.
      const [row] = (await stores[0]!.knex.raw('select 1::bigint as n')).rows as { n: unknown }[];
      expect(row?.n).toBe(1);
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await db.drop();
    }
  });
});

describe('the embedded store (PGlite)', () => {
  const dirs: string[] = [];
  const open: Store[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-store-test-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const setting = async (store: Store, name: string): Promise<string | undefined> => {
    const result = (await store.knex.raw('select current_setting(?) as v', [name])) as {
      rows: { v: string }[];
    };
    return result.rows[0]?.v;
  };
  const shared = /^shared_buffers\s*=\s*(\S+)/m;

  it('creates a missing data folder (in a child process), migrates it and reopens it with its data', async () => {
    const dir = join(tempDir(), 'nested', 'ferry-data');
    const entries: LogEntry[] = [];
    const store = await openStore({ dataDir: dir, logger: recordingLogger(entries) });
    open.push(store);
    expect(store.backend).toBe('pglite');
    expect(store.location).toBe(dir);
    expect(isPgliteCluster(dir)).toBe(true);
    expect(entries.filter((e) => e.msg === 'store created').map((e) => e.obj)).toEqual([
      expect.objectContaining({ dir }),
    ]);
    const migrations = (await store.knex('ferry_migrations').select('name').orderBy('name')) as {
      name: string;
    }[];
    expect(migrations.at(-1)?.name).toBe(LATEST_MIGRATION);
    await store.knex('ingest_runs').insert({ input: 'kept.zip', status: 'done' });
    await store.close();
    open.pop();

    const reopenedEntries: LogEntry[] = [];
    const reopened = await openStore({ dataDir: dir, logger: recordingLogger(reopenedEntries) });
    open.push(reopened);
    expect(reopenedEntries.filter((e) => e.msg === 'store created')).toEqual([]);
    expect(await reopened.knex('ingest_runs').pluck('input')).toEqual(['kept.zip']);
    const [row] = (await reopened.knex.raw('select 1::bigint as n')).rows as { n: unknown }[];
    expect(row?.n).toBe(1);
    // The store's settings reach PostgreSQL on the command line; the folder keeps initdb's own.
    expect(await setting(reopened, 'shared_buffers')).toBe(PGLITE_SETTINGS.shared_buffers);
    expect(shared.exec(readFileSync(join(dir, 'postgresql.conf'), 'utf8'))?.[1]).toBe('128MB');
  });

  it('opens a folder made by plain PGlite (earlier versions) without changing its files', async () => {
    const dir = tempDir();
    // No settings: the same cluster `new PGlite(dir)` makes, as ferry did before.
    await createPgliteCluster(dir, {});
    const conf = readFileSync(join(dir, 'postgresql.conf'), 'utf8');
    const store = await openStore({ dataDir: dir });
    open.push(store);
    expect(await store.knex('ferry_migrations').max('name as name').first()).toEqual({
      name: LATEST_MIGRATION,
    });
    expect(await setting(store, 'shared_buffers')).toBe(PGLITE_SETTINGS.shared_buffers);
    expect(readFileSync(join(dir, 'postgresql.conf'), 'utf8')).toBe(conf);
  });

  it('a folder that cannot hold a store is a FerryError naming the folder and the cause', async () => {
    const dir = tempDir();
    // PostgreSQL needs a directory called `base` there.
    writeFileSync(join(dir, 'base'), 'not a directory');
    const entries: LogEntry[] = [];
    const error = await openStore({ dataDir: dir, logger: recordingLogger(entries) }).then(
      (s) => {
        open.push(s);
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FerryError);
    expect(error).toMatchObject({ code: 'store_unavailable' });
    const message = (error as FerryError).message;
    expect(message).toContain(`cannot create the store at ${dir}: `);
    expect(message).toContain('ENOTDIR');
    expect(message).toContain('not empty');
    expect(message).not.toMatch(/\n\s+at /); // no stack trace
    expect(entries.filter((e) => e.msg === 'store created')).toEqual([]);
  });

  it('a child that fails on a setting PostgreSQL refuses reports it as a FerryError', async () => {
    const dir = join(tempDir(), 'store');
    mkdirSync(dir);
    const error = await createPgliteCluster(dir, { shared_buffers: 'plenty' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FerryError);
    expect(error).toMatchObject({ code: 'store_unavailable' });
    expect((error as FerryError).message).toMatch(
      new RegExp(`^cannot create the store at ${dir}: PGlite failed to initialize`),
    );
  });

  it('start parameters are PGlite’s defaults followed by the settings as -c options', () => {
    expect(
      pgliteStartParams(['--single', '-F'], { shared_buffers: '16MB', work_mem: '4MB' }),
    ).toEqual(['--single', '-F', '-c', 'shared_buffers=16MB', '-c', 'work_mem=4MB']);
    expect(pgliteStartParams(['--single'], {})).toEqual(['--single']);
  });
});
