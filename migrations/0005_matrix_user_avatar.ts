/**
 * 0005: `matrix_users.avatar_done`. A ghost provisioned by a push without `--download-media`
 * has no avatar; a later push with downloads must still give it one. `profile_done` alone
 * cannot tell that case apart, so the avatar is tracked on its own. Existing rows start as
 * false: the next push with downloads looks at each of those ghosts' profile once.
 */
import type { Knex } from 'knex';

export const name = '0005_matrix_user_avatar';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table matrix_users add column avatar_done boolean not null default false');
}
