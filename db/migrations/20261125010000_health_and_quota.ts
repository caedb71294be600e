import type { Knex } from 'knex';

// IP-pool health check findings, and the indexes quota and app-spread reads need.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ip_health_runs', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('workflow_id').notNullable();
    t.text('zone_id').notNullable().references('zones.id');
    t.text('host_id');
    t.boolean('checked').notNullable();
    t.text('reason');
    t.integer('probed').notNullable().defaultTo(0);
    t.specificType('answered', 'text[]').notNullable().defaultTo('{}');
    t.specificType('quarantined', 'text[]').notNullable().defaultTo('{}');
    t.specificType('released', 'text[]').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['workflow_id', 'zone_id']);
  });
  await knex.raw('create index instances_quota_idx on instances (owner_id, zone_id) where state not in (\'deleted\', \'failed\')');
  await knex.raw('create index instances_app_idx on instances (zone_id, app, host_id) where app is not null and host_id is not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists instances_app_idx');
  await knex.raw('drop index if exists instances_quota_idx');
  await knex.schema.dropTableIfExists('ip_health_runs');
}
