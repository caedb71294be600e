import type { Knex } from 'knex';

// Limits on everything a tenant can grow: disk, and snapshots (how many, and how many GB; a
// snapshot is counted at its instance's disk size, which it never exceeds). Existing grants get
// the defaults the API gives a grant that does not name them.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('zone_grants', (t) => {
    t.integer('max_disk_gb').notNullable().defaultTo(100);
    t.integer('max_snapshots').notNullable().defaultTo(10);
    t.integer('max_snapshot_gb').notNullable().defaultTo(100);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('zone_grants', (t) => {
    t.dropColumn('max_disk_gb');
    t.dropColumn('max_snapshots');
    t.dropColumn('max_snapshot_gb');
  });
}
