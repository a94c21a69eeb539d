/**
 * Forward-only, numbered migrations from `migrations/`. The list is static (imported modules)
 * so it works the same from TypeScript sources and from the compiled `dist/`.
 */
import type { Knex } from 'knex';
import * as m0001 from '../../migrations/0001_initial.js';
import * as m0002 from '../../migrations/0002_matrix_push.js';
import * as m0003 from '../../migrations/0003_drop_first_run_index.js';
import * as m0004 from '../../migrations/0004_slack_custom_emoji.js';
import * as m0005 from '../../migrations/0005_matrix_user_avatar.js';
import * as m0006 from '../../migrations/0006_slack_api_watermarks.js';
import * as m0007 from '../../migrations/0007_matrix_room_watermarks.js';
import * as m0008 from '../../migrations/0008_report.js';
import * as m0009 from '../../migrations/0009_room_claims.js';
import * as m0010 from '../../migrations/0010_matrix_push_runs.js';

interface MigrationModule {
  name: string;
  up: (knex: Knex) => Promise<void>;
}

const MIGRATIONS: readonly MigrationModule[] = [
  m0001,
  m0002,
  m0003,
  m0004,
  m0005,
  m0006,
  m0007,
  m0008,
  m0009,
  m0010,
];

class StaticMigrationSource implements Knex.MigrationSource<MigrationModule> {
  getMigrations(): Promise<MigrationModule[]> {
    return Promise.resolve([...MIGRATIONS]);
  }
  getMigrationName(migration: MigrationModule): string {
    return migration.name;
  }
  getMigration(migration: MigrationModule): Promise<Knex.Migration> {
    return Promise.resolve({
      up: migration.up,
      down: () => Promise.reject(new Error('migrations are forward-only')),
    });
  }
}

export const LATEST_MIGRATION = MIGRATIONS[MIGRATIONS.length - 1]?.name ?? '';

/** Advisory-lock key that serialises migrations across processes sharing one PostgreSQL store. */
const MIGRATION_LOCK = 0x6665727279; // "ferry"

/**
 * Applies every pending migration. Several processes may start at once (workers sharing one
 * PostgreSQL store): on PostgreSQL a transaction-scoped advisory lock lets one migrate while
 * the others wait (knex's own lock table cannot protect its own creation). PGlite has a single
 * connection and a single process, so it needs no lock.
 */
export async function migrateToLatest(
  knex: Knex,
  options: { serialise: boolean },
): Promise<string[]> {
  const run = async (): Promise<string[]> => {
    const [, applied] = (await knex.migrate.latest({
      migrationSource: new StaticMigrationSource(),
      tableName: 'ferry_migrations',
    })) as [number, string[]];
    return applied;
  };
  if (!options.serialise) return run();
  return knex.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
    return run();
  });
}
