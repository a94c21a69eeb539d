/**
 * Opening the store: embedded PGlite in a local folder by default, or a PostgreSQL server
 * chosen by URL. Both speak the same SQL; the differences that leak (int8 parsing, one
 * connection for PGlite) are handled here so the rest of the code never branches on backend.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import knexPkg, { type Knex } from 'knex';
import pg from 'pg';
import { FerryError } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { redactDatabaseUrl } from './database-url.js';
import { migrateToLatest } from './migrate.js';
import { openPgliteKnex } from './pglite-store.js';

export type StoreBackend = 'pglite' | 'postgres';

export interface StoreOptions {
  /** `postgres://…` URL; when absent the embedded store in `dataDir` is used. */
  databaseUrl?: string;
  /** Folder of the embedded store (default `./ferry-data`). */
  dataDir?: string;
  logger?: Logger;
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
}

export interface Store {
  readonly knex: Knex;
  readonly backend: StoreBackend;
  /** Where the data lives, safe to print (password removed). */
  readonly location: string;
  close(): Promise<void>;
}

export const DEFAULT_DATA_DIR = 'ferry-data';

// int8 (bigint) columns hold ms timestamps and counts, all below 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v));

const createKnex = knexPkg.knex;

export async function openStore(options: StoreOptions = {}): Promise<Store> {
  const logger = options.logger ?? silentLogger;
  const url = options.databaseUrl;
  let knex: Knex;
  let backend: StoreBackend;
  let location: string;
  if (url !== undefined && url !== '') {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new FerryError(
        'config_invalid',
        `database URL must start with postgres:// (got ${redactDatabaseUrl(url)})`,
      );
    }
    backend = 'postgres';
    location = redactDatabaseUrl(url);
    knex = createKnex({ client: 'pg', connection: url, pool: { min: 0, max: 4 } });
  } else {
    backend = 'pglite';
    const dir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
    mkdirSync(dir, { recursive: true });
    location = dir;
    // Creates the folder's cluster in a child process when it has none (pglite-store.ts).
    knex = await openPgliteKnex(dir, logger);
  }
  try {
    await knex.raw('select 1');
    if (options.migrate !== false) {
      const applied = await migrateToLatest(knex, { serialise: backend === 'postgres' });
      if (applied.length > 0) logger.info({ applied, backend }, 'store migrated');
    }
  } catch (e) {
    await knex.destroy().catch(() => undefined);
    throw new FerryError(
      'store_unavailable',
      `cannot open the store at ${location}: ${errorText(e)}`,
      {
        cause: e,
        retryable: true,
      },
    );
  }
  return {
    knex,
    backend,
    location,
    close: () => knex.destroy(),
  };
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return redactDatabaseUrl(text);
}
