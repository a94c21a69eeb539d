/**
 * 0010: `matrix_push_runs`, one row per finished `ferry push` process: how long it took and how
 * much it wrote, so that `ferry plan` can turn the events still to write into an ETA. A push
 * that crashed or was killed writes no row (its partial rate would mislead).
 * `store_events`: store events that became written (sent or skipped) during the run;
 * `matrix_events`: Matrix sends (joins and multi-part events count each send).
 */
import type { Knex } from 'knex';

export const name = '0010_matrix_push_runs';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table matrix_push_runs (
      id bigserial primary key,
      owner text not null,
      concurrency integer not null,
      started_at timestamptz not null,
      finished_at timestamptz not null,
      duration_ms bigint not null,
      store_events bigint not null,
      matrix_events bigint not null,
      rooms_written integer not null,
      rooms_failed integer not null
    )`);
}
