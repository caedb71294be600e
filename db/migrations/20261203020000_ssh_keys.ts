import type { Knex } from 'knex';

// Users' SSH public keys, and the authorized_keys an instance was created with (installed by the platform).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ssh_keys', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('type').notNullable();
    t.text('public_key').notNullable();
    t.text('fingerprint').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['user_id', 'name'], { indexName: 'ssh_keys_user_name_unique' });
    t.unique(['user_id', 'fingerprint'], { indexName: 'ssh_keys_user_fingerprint_unique' });
  });
  await knex.schema.alterTable('instances', (t) => t.text('authorized_keys'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => t.dropColumn('authorized_keys'));
  await knex.schema.dropTable('ssh_keys');
}
