import type { Knex } from 'knex';

// Progress written by concurrent activities of one workflow (an evacuation's moves, a batch's members) can land out of
// order; each write carries the workflow's stamp and an older stamp never overwrites a newer one.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => t.bigInteger('progress_stamp'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => t.dropColumn('progress_stamp'));
}
