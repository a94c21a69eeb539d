import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { LATEST_MIGRATION } from '../../src/store/migrate.js';
import { createPostgresDatabase } from '../support/databases.js';

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
