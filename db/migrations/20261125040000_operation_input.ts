import type { Knex } from 'knex';

// The arguments a workflow was started with, written with the intent: a replayed request (or a
// restart after a crash between commit and start) starts exactly the workflow the first one meant.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => t.jsonb('input'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => t.dropColumn('input'));
}
