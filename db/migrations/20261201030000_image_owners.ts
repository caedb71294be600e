import type { Knex } from 'knex';

// Images made by users: an owner, a visibility (an admin's images stay public; a user's are private
// until an admin says otherwise), the snapshot it was made from, and for the owner's quota the zone
// and size it counts at (as a snapshot: in its instance's zone, at its instance's disk size).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('images', (t) => {
    t.uuid('owner_id').references('users.id');
    t.text('visibility').notNullable().defaultTo('public').checkIn(['private', 'public'], 'images_visibility_check');
    t.uuid('source_snapshot_id').references('snapshots.id');
    t.text('quota_zone_id').references('zones.id');
    t.integer('quota_gb');
  });
  await knex.raw('create index images_owner_idx on images (owner_id) where owner_id is not null');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('images', (t) => {
    for (const c of ['owner_id', 'visibility', 'source_snapshot_id', 'quota_zone_id', 'quota_gb']) t.dropColumn(c);
  });
}
