import type { Knex } from 'knex';

// The registry's garbage collection must not run while anything pushes to it (a blob uploaded but
// not yet named by a manifest would be swept). One row says whether a collection holds the
// registry, until when (a lease, so a collection that was killed cannot hold it for ever), and who.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('registry_maintenance', (t) => {
    t.boolean('id').primary().defaultTo(true);
    t.timestamp('gc_until', { useTz: true });
    t.text('gc_by');
  });
  await knex.raw('alter table registry_maintenance add constraint registry_maintenance_one_row check (id)');
  await knex('registry_maintenance').insert({ id: true });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('registry_maintenance');
}
