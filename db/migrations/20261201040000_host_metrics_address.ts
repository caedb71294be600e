import type { Knex } from 'knex';

// Where each host agent serves its instances' metrics: what vcloud's Prometheus service discovery hands out.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('hosts', (t) => t.text('metrics_address'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('hosts', (t) => t.dropColumn('metrics_address'));
}
