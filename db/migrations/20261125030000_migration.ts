import type { Knex } from 'knex';

// Migration and evacuation: a target claim held beside the source's until the move commits,
// the copies a dead host still has, and one running evacuation per host.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => {
    t.text('target_host_id').references('hosts.id');
    t.specificType('target_cpuset', 'integer[]');
  });
  await knex.schema.createTable('stale_copies', (t) => {
    t.uuid('instance_id').notNullable().references('instances.id');
    t.text('host_id').notNullable().references('hosts.id');
    t.text('kind').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'host_id']);
  });
  await knex.raw(`create unique index operations_one_evacuation_per_host on operations (host_id)
    where state = 'running' and type = 'evacuate'`);
  await knex.schema.alterTable('snapshots', (t) => {
    t.text('failure');
    t.uuid('operation_id');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('snapshots', (t) => {
    t.dropColumn('failure');
    t.dropColumn('operation_id');
  });
  await knex.raw('drop index operations_one_evacuation_per_host');
  await knex.schema.dropTable('stale_copies');
  await knex.schema.alterTable('instances', (t) => {
    t.dropColumn('target_host_id');
    t.dropColumn('target_cpuset');
  });
}
