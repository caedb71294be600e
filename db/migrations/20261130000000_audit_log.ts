import type { Knex } from 'knex';

// Every mutating API request: who (the user, or nobody for a refused token), what (method, path,
// route), when, from where, the outcome (status) and the operation it started, if any.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id');
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Kept when a user goes: the name is what the record says.
    t.uuid('user_id');
    t.text('user_name');
    t.text('method').notNullable();
    t.text('path').notNullable();
    t.text('route');
    t.uuid('instance_id');
    t.uuid('operation_id');
    t.integer('status').notNullable();
    t.text('remote_address');
  });
  await knex.raw('create index audit_log_at_idx on audit_log (at)');
  await knex.raw('create index audit_log_user_idx on audit_log (user_id, id)');
  await knex.raw('create index audit_log_instance_idx on audit_log (instance_id, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_log');
}
