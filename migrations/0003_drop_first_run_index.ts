/**
 * 0003: drops `events_first_run`. Every row of one ingest has the same value, so the index cost
 * up to a third of a bulk load (BENCHMARKS.md) and no query uses it.
 */
import type { Knex } from 'knex';

export const name = '0003_drop_first_run_index';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists events_first_run');
}
