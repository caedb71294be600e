import type { Knex } from 'knex';

// The kind of failure an operation ended with (the error's type), so a user is told it in the
// platform's words and an admin reads the whole reason (api/public-errors.ts).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => t.text('error_type'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('operations', (t) => t.dropColumn('error_type'));
}
