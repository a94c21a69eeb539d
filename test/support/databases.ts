/**
 * Stores for tests: a fresh PostgreSQL database per call on the real server (127.0.0.1:5432,
 * or TEST_DATABASE_URL), or a fresh embedded PGlite folder. `storeBackends` lets a suite run
 * unchanged against both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store, type StoreBackend } from '../../src/store/store.js';

export const ADMIN_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates an empty PostgreSQL database; returns its URL and a function that drops it. */
/**
 * A throwaway database. `synapse`: with the encoding and collation Synapse insists on (UTF8, C,
 * from template0), for a test homeserver's own data.
 */
export async function createPostgresDatabase(opts: { synapse?: boolean } = {}): Promise<{
  url: string;
  drop: () => Promise<void>;
}> {
  const name = `ferry_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  await admin.query(
    opts.synapse === true
      ? `create database ${name} encoding 'UTF8' lc_collate 'C' lc_ctype 'C' template template0`
      : `create database ${name}`,
  );
  await admin.end();
  return {
    url: withDatabase(ADMIN_DATABASE_URL, name),
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface TestStore {
  store: Store;
  /** Options that reopen the same store (for a second process or a second open). */
  location: { databaseUrl?: string; dataDir?: string };
  dispose(): Promise<void>;
}

export async function createTestStore(backend: StoreBackend): Promise<TestStore> {
  if (backend === 'postgres') {
    const db = await createPostgresDatabase();
    const store = await openStore({ databaseUrl: db.url });
    return {
      store,
      location: { databaseUrl: db.url },
      dispose: async () => {
        await store.close();
        await db.drop();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'ferry-pglite-'));
  const store = await openStore({ dataDir: dir });
  return {
    store,
    location: { dataDir: dir },
    dispose: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const storeBackends: StoreBackend[] = ['pglite', 'postgres'];
