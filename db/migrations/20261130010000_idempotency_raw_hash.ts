import type { Knex } from 'knex';

// The first request under a key as it came (method, path, body), so that its retry is answered
// before any validation: what the first request saw may have changed since.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => t.text('raw_hash'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => t.dropColumn('raw_hash'));
}
